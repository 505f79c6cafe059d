"""``cc call``: call records (one row per call, its event log, what the caller left)."""

from __future__ import annotations

import sys

import typer

from cc.commands import _common
from cc.commands import call_control as _call_control

app = typer.Typer(help="Call records.", no_args_is_help=True)
_call_control.register(app)  # dial, transfer, conference, hangup, mute, pickup, relay (cc/commands/call_control.py)


@app.command("list")
def list_command(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="At most this many calls, newest first."),
    caller: str = typer.Option(None, "--caller", help="Only calls from this number."),
    result: str = typer.Option(None, "--result", help="Only calls with this result (queued, voicemail, abandoned...)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Recent calls: caller, times, IVR path, result and why the call ended."""
    from cc.telephony.wiring import call_service

    calls = call_service(_common.services(ctx)).list(limit=limit, caller=caller, result=result)
    if json_out:
        _common.print_json(calls)
        return
    rows = [
        [c["id"], c["caller"], c["started_at"][:19].replace("T", " "), ("VIP " if c["vip"] else "") + (c["result"] or "in progress"),
         " > ".join(c["path"]), c["reason"] or ""]
        for c in calls
    ]
    _common.print_table(["call", "caller", "started (UTC)", "result", "path", "reason"], rows)


@app.command("show")
def show_command(
    ctx: typer.Context,
    call_id: str = typer.Argument(..., help="The call id (see cc call list)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """One call with its event log and what the caller left (voicemail, relay, queue request)."""
    from cc.telephony.wiring import call_service

    call = call_service(_common.services(ctx)).show(call_id)
    if json_out:
        _common.print_json(call)
        return
    out = sys.stdout
    for key in ("id", "caller", "channel", "script", "vip", "blacklisted", "started_at", "answered_at", "ended_at", "result", "reason"):
        out.write(f"{key:12} {call[key] if call[key] is not None else ''}\n")
    out.write(f"{'path':12} {' > '.join(call['path'])}\n")
    _common.print_table(
        ["at", "event", "node", "detail"],
        [[e["at"][11:23], e["kind"], e["node"], ", ".join(f"{k}={v}" for k, v in e["detail"].items())] for e in call["events"]],
    )
    for table in ("voicemails", "voice_relays", "queue_requests", "greetings"):
        for row in call[table]:
            out.write(f"{table[:-1]}: " + ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("call_id",)) + "\n")
