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

    def close(self) -> None:
        """Close the services' connection when the command is done (registered on the root context)."""
        if self._services is not None:
            self._services.close()
            self._services = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
        root.call_on_close(root.obj.close)
    return root.obj


# Commands that only read: on a database file that does not exist they refuse instead of creating an
# empty one (a mistyped --db would otherwise answer "nothing found" and leave a stray file behind).
READ_ONLY_COMMANDS = frozenset({"list", "show", "events", "export", "history", "exits", "callbacks", "status",
                                "preview", "scores", "cards", "calls", "backup"})


def services(ctx: typer.Context) -> Services:
    cli = state(ctx)
    if cli._services is None and _reads_only(ctx):
        _require_database(cli.config.db)
    return cli.services


def _reads_only(ctx: typer.Context) -> bool:
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return bool(names) and (names[0] in READ_ONLY_COMMANDS or names[-1] == "report")


def _require_database(path: str) -> None:
    from pathlib import Path

    from cc.errors import NotFound

    if path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
        raise NotFound(f"no database at {path}", "check --db / CC_DB, or create one with 'cc init'")


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


# --- parsing command-line values -------------------------------------------------------------------
def parse_amount(text: str, what: str = "amount") -> int:
    """Yuan with up to two decimals -> fen."""
    from cc.domain.money import MoneyFormatError, parse_yuan
    from cc.errors import UsageError

    try:
        return parse_yuan(text)
    except MoneyFormatError:
        raise UsageError(f"{what} '{text}' is not an amount in yuan", "write it like 5, 5.5 or 5.00") from None


def parse_date(text: str | None, what: str = "date"):  # noqa: ANN201
    from datetime import date

    from cc.errors import UsageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} '{text}' is not a date", "write dates as YYYY-MM-DD, e.g. 2026-12-01") from None


def parse_items(items: list[str]) -> list[tuple[str, int]]:
    from cc.errors import UsageError

    parsed = []
    for item in items:
        sku, sep, qty = item.rpartition(":")
        if not sep:
            sku, qty = item, "1"
        try:
            quantity = int(qty)
        except ValueError:
            raise UsageError(f"--item '{item}': quantity '{qty}' is not a whole number", "write --item SKU:QTY, e.g. MILK-1L:2") from None
        if quantity <= 0:
            raise UsageError(f"--item '{item}': quantity must be at least 1", "write --item SKU:QTY with QTY 1 or more")
        parsed.append((sku.strip(), quantity))
    return parsed


def yuan(fen: int) -> str:
    from cc.domain.money import format_yuan

    return format_yuan(fen)


def label(ctx: typer.Context, key: str) -> str:
    from cc.i18n import t

    return t(key, config(ctx).resolved_locale())


def report_import(result_errors: list[tuple[int, str]], loaded_text: str, skip_bad: bool) -> None:
    """Print an import's outcome; bad rows by line number; refuse (exit 1) when nothing loaded because of them."""
    from cc.errors import UsageError

    for line, message in result_errors:
        sys.stderr.write(f"line {line}: {message}\n")
    if result_errors and not skip_bad:
        raise UsageError(f"{len(result_errors)} bad row(s); nothing was loaded", "fix the rows above, or pass --skip-bad to load the good ones")
    info(loaded_text)
