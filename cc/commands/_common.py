"""What every command shares: the lazily built services, JSON/table output, amounts, one error format."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from cc.config import Config
    from cc.services.container import Services


@dataclass
class CliState:
    config_path: str | None = None
    db_path: str | None = None
    user: str | None = None
    _config: Config | None = field(default=None, repr=False)
    _services: Services | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from cc.config import load_config

            self._config = load_config(self.config_path, db=self.db_path)
        return self._config

    @property
    def services(self) -> Services:
        if self._services is None:
            from cc.services.container import build_services

            self._services = build_services(self.config, acting_user=self.user)
        return self._services


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def services(ctx: typer.Context) -> Services:
    return state(ctx).services


def config(ctx: typer.Context) -> Config:
    return state(ctx).config


def print_json(data: Any) -> None:
    """JSON on stdout, Chinese kept readable (not \\u escapes)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)


def info(message: str) -> None:
    """Diagnostics go to stderr; stdout is for data."""
    sys.stderr.write(message + "\n")
