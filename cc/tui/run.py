"""Starting the agent console: in this terminal, or served to browsers through textual-serve (``--web``)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

from cc.errors import UsageError


def run_console(config: Any, *, user: str | None = None, locale: str | None = None, light: bool = False) -> None:
    """Run the console in this terminal until the agent quits; the agent leaves rotation on the way out."""
    if locale not in (None, "zh_CN", "en"):
        raise UsageError(f"unknown language {locale!r}", "use --lang zh_CN or --lang en")
    import os

    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the agent console needs a terminal (this is not one)",
                         "run 'cc agent' in a terminal or serve it with 'cc agent --web'; to manage agents use"
                         " the subcommands: set, login, ready, pause, away, logout, heartbeat, list, events")
    from cc.tui.agent_app import make_agent_app

    make_agent_app(config, user=user, locale=locale, dark=not light).run()


def web_command(*, config_path: str | None, db_path: str | None, user: str | None, locale: str | None,
                light: bool) -> str:
    """The command each browser session runs (one console process per browser tab)."""
    parts = [sys.executable, "-m", "cc"]
    if config_path:
        parts += ["--config", config_path]
    if db_path:
        parts += ["--db", db_path]
    parts.append("agent")
    if user:
        parts += ["--user", user]
    if locale:
        parts += ["--lang", locale]
    if light:
        parts.append("--light")
    return " ".join(shlex.quote(p) for p in parts)


def serve_web(command: str, host: str, port: int) -> None:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UsageError("cc agent --web needs the textual-serve package",
                         "install it: pip install textual-serve") from None
    Server(command, host=host, port=port, title="cc agent").serve()
