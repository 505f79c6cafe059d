"""Which command groups ``cc`` has. To add one: write ``cc/commands/<module>.py`` exposing
``app = typer.Typer(...)`` and add a line here. Command modules import only typer and _common at module
level; services and heavy libraries load inside the command functions (start-up time is benchmarked)."""

from __future__ import annotations

import importlib

# (command name, module under cc.commands, help)
GROUPS: list[tuple[str, str, str]] = [
]

# (command name, module under cc.commands, function name, help) for single commands such as `cc init`.
COMMANDS: list[tuple[str, str, str, str]] = [
]


def lazy_group(module: str):  # noqa: ANN201
    return importlib.import_module(f"cc.commands.{module}").app


def load(module: str, attr: str):  # noqa: ANN201
    return getattr(importlib.import_module(f"cc.commands.{module}"), attr)
