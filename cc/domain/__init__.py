"""The pure core of cc: dataclasses, enums and functions. Standard library only; no I/O."""
