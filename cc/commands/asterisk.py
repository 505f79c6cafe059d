"""``cc asterisk``: the Asterisk side of the hotline (the dialplan that sends calls to cc over AGI)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cc.commands import _common

app = typer.Typer(help="Asterisk configuration for the hotline.", no_args_is_help=True)


@app.command("config")
def config_command(
    ctx: typer.Context,
    output: Path = typer.Option(
        None, "--output", "-o", file_okay=False,
        help="Write cc-inbound.conf into this folder (e.g. /etc/asterisk) instead of printing it.",
    ),
    examples: bool = typer.Option(
        False, "--examples", help="With --output, also write an example extensions.conf and pjsip.conf (never overwritten)."
    ),
    hotline: str = typer.Option(None, "--hotline", help="The number callers dial [default: asterisk.hotline]."),
    agi_url: str = typer.Option(None, "--agi-url", help="AGI URL [default: agi://<agi.host>:<agi.port>/inbound]."),
) -> None:
    """Write the dialplan that hands hotline calls to the cc AGI server, with a fallback (apology, then the
    operator, then voicemail) for when the AGI server is down or fails. Include it from extensions.conf:
    `#include cc-inbound.conf`, then `asterisk -rx "dialplan reload"`."""
    import dataclasses

    from cc.errors import UsageError
    from cc.telephony import dialplan

    settings = dialplan.settings_from_config(_common.config(ctx))
    changes = {k: v for k, v in {"hotline": hotline, "agi_url": agi_url}.items() if v is not None}
    if changes:
        settings = dataclasses.replace(settings, **changes)
    if output is None:
        if examples:
            raise UsageError("--examples needs --output", "give the folder to write the example files into")
        sys.stdout.write(dialplan.render_inbound(settings))
        return
    try:
        written = dialplan.write_files(settings, output, examples=examples)
    except OSError as exc:
        raise UsageError(f"cannot write into {output}: {exc.strerror or exc}", "check the folder and its permissions") from None
    for path in written:
        _common.info(f"wrote {path}")
    _common.info(f'next: add "#include {dialplan.INCLUDE_FILE}" to extensions.conf and run: asterisk -rx "dialplan reload"')
