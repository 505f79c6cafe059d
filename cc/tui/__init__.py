"""Textual consoles: the agent console (``cc agent``)."""
