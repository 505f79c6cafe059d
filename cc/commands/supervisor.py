"""``cc supervisor``: the supervisor's live wallboard (cc/tui/supervisor_app.py)."""

from __future__ import annotations

import typer

from cc.commands import _common


def supervisor(
    ctx: typer.Context,
    user: str = typer.Option(None, "--user", help="Pre-fill the sign-in form with this user (a supervisor or admin)."),
    lang: str = typer.Option(None, "--lang", help="zh_CN or en (default: the config's locale)."),
    light: bool = typer.Option(False, "--light", help="Light theme (default dark; ctrl+t switches)."),
    dial: str = typer.Option(None, "--dial", help="The phone listen/whisper/barge ring (default: your agent dial string, e.g. PJSIP/2001)."),
) -> None:
    """Open the supervisor's wallboard: queues, waiting callers, agents, charts, SMS gateway health and alerts,
    refreshed every second; listen/whisper/barge, force an agent's state, move or prioritise callers."""
    import os
    import sys

    from cc.errors import UsageError

    if lang not in (None, "zh_CN", "en"):
        raise UsageError(f"unknown language {lang!r}", "use --lang zh_CN or --lang en")
    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the supervisor dashboard needs a terminal (this is not one)",
                         "run 'cc supervisor' in a terminal; for figures in scripts use 'cc report queues' or 'cc queue list --json'")
    from cc.tui.supervisor_app import make_supervisor_app

    config = _common.config(ctx)
    from cc.store.checkpoint import background_checkpoints

    app = make_supervisor_app(config, user=user or _common.state(ctx).user, locale=lang, dark=not light, dial=dial)
    with background_checkpoints(config.db):
        app.run()
