"""cc: a small telephone ordering call center for a dairy."""

__version__ = "0.1.0"
