"""Simulations that drive the real services: the live call center behind ``cc demo``."""
