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
    pjsip: bool = typer.Option(False, "--pjsip", help="Print the agents' PJSIP endpoints (cc-agents-pjsip.conf) instead."),
    control: bool = typer.Option(False, "--control", help="Print the call-control context (cc-control.conf) instead."),
) -> None:
    """Write the dialplan that hands hotline calls to the cc AGI server, with a fallback (apology, then the
    operator, then voicemail) for when the AGI server is down or fails, the call-control context
    (cc-control.conf: click-to-dial, transfers, conference, pick-up, spy, voice relays) and the agents'
    PJSIP phones (cc-agents-pjsip.conf). Include them from extensions.conf / pjsip.conf, then reload."""
    import dataclasses

    from cc.errors import UsageError
    from cc.telephony import dialplan

    settings = dialplan.settings_from_config(_common.config(ctx))
    changes = {k: v for k, v in {"hotline": hotline, "agi_url": agi_url}.items() if v is not None}
    if changes:
        settings = dataclasses.replace(settings, **changes)
    from cc.telephony import control_dialplan

    if pjsip and output is None:
        sys.stdout.write(control_dialplan.agent_endpoints_from(_common.config(ctx), lambda: _common.services(ctx)))
        return
    if output is None:
        if examples:
            raise UsageError("--examples needs --output", "give the folder to write the example files into")
        if control:
            sys.stdout.write(control_dialplan.render_control(control_dialplan.dialplan_from_config(_common.config(ctx))))
            return
        sys.stdout.write(dialplan.render_inbound(settings))
        return
    extra = control_dialplan.files_from(_common.config(ctx), lambda: _common.services(ctx))  # call control + agents' phones
    try:
        written = dialplan.write_files(settings, output, examples=examples, extra=extra)
    except OSError as exc:
        raise UsageError(f"cannot write into {output}: {exc.strerror or exc}", "check the folder and its permissions") from None
    for path in written:
        _common.info(f"wrote {path}")
    _common.info(f'next: add "#include {dialplan.INCLUDE_FILE}" and "#include {control_dialplan.CONTROL_FILE}" to extensions.conf,'
                 f' "#include {control_dialplan.PJSIP_FILE}" to pjsip.conf, and run: asterisk -rx "core reload"')
