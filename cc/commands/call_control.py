"""``cc call dial|transfer|conference|hangup|mute|unmute|pickup|control-log`` and ``cc call relay
deliver|list``: live call control through the Asterisk manager (registered on ``cc call`` by
``register``). Asterisk down -> ``Error``/``Hint`` and exit code 3."""

from __future__ import annotations

import sys

import typer

from cc.commands import _common


def _done(result: dict, json_out: bool, text: str) -> None:
    if json_out:
        _common.print_json(result)
    else:
        sys.stdout.write(text + "\n")


def register(app: typer.Typer) -> None:
    relay_app = typer.Typer(help="Voice relays: deliver pending messages by outbound call (cron), list.", no_args_is_help=True)
    app.add_typer(relay_app, name="relay")

    @app.command("dial")
    def dial_command(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="The agent whose phone rings first."),
        number: str = typer.Argument(..., help="The customer's number (13800138000, +86..., 010-62345678)."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Click-to-dial: ring the agent's phone; when the agent answers, call the customer."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.dial(user, number)
        _done(result, json_out, f"ringing {user} ({result['agent_dial']}), then {result['number']}; call {result['call']}")

    @app.command("transfer")
    def transfer_command(
        ctx: typer.Context,
        call: str = typer.Argument(..., help="The call: its id (cc call list), a channel name, or the agent on it."),
        target: str = typer.Argument(..., help="queue:NAME (or a queue's name), agent:USER (or USER), expert, group:NAME, or a phone number."),
        attended: bool = typer.Option(False, "--attended", help="The agent talks to the target first; hanging up completes it."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Transfer a live call (blind by default)."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.transfer(call, target, attended=attended)
        kind = "attended transfer started" if attended else "transferred"
        _done(result, json_out, f"{kind}: {result['channel']} -> {target}")

    @app.command("conference")
    def conference_command(
        ctx: typer.Context,
        call: str = typer.Argument(..., help="The call: its id, a channel name, or the agent on it."),
        target: str = typer.Argument(..., help="Who joins: agent:USER (or USER), expert, group:NAME, or a phone number."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Three-way conference: ring a third party and bring them into the call."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.conference(call, target)
        _done(result, json_out, f"ringing {target} to join {result['channel']}")

    @app.command("hangup")
    def hangup_command(
        ctx: typer.Context,
        call: str = typer.Argument(..., help="The call: its id, a channel name, or the agent on it."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Hang up a live call."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.hangup(call)
        _done(result, json_out, f"hung up {result['channel']}")

    def _mute(ctx: typer.Context, call: str, on: bool, json_out: bool) -> None:
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.mute(call, on)
        _done(result, json_out, f"{'muted' if on else 'unmuted'} {result['channel']}")

    @app.command("mute")
    def mute_command(
        ctx: typer.Context,
        call: str = typer.Argument(..., help="The agent, or the call they are on."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Mute the agent's voice (the customer stops hearing the agent)."""
        _mute(ctx, call, True, json_out)

    @app.command("unmute")
    def unmute_command(
        ctx: typer.Context,
        call: str = typer.Argument(..., help="The agent, or the call they are on."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Unmute the agent's voice."""
        _mute(ctx, call, False, json_out)

    @app.command("pickup")
    def pickup_command(
        ctx: typer.Context,
        user: str = typer.Argument(..., help="The agent picking up (their phone rings, then takes the call)."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Take a call ringing for another agent of the same group."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx)) as control:
            result = control.pickup(user)
        _done(result, json_out, f"{user} picks up the call ringing for {result['picked_from']}")

    @app.command("control-log")
    def control_log_command(
        ctx: typer.Context,
        limit: int = typer.Option(50, "--limit", min=1, max=10000, help="At most this many, newest first."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Call-control actions taken (dial, transfers, spy sessions, relay attempts), newest first."""
        from cc.telephony.control_wiring import offline

        rows = offline(_common.services(ctx)).history(limit)
        if json_out:
            _common.print_json(rows)
            return
        _common.print_table(
            ["at", "action", "actor", "agent", "call", "target", "outcome", "detail"],
            [[r["at"][:19].replace("T", " "), r["action"], r["actor"], r["agent"], r["call"], r["target"], r["outcome"], r["detail"]]
             for r in rows],
        )

    @relay_app.command("deliver")
    def relay_deliver_command(
        ctx: typer.Context,
        limit: int = typer.Option(None, "--limit", min=1, max=1000, help="At most this many relays [default: asterisk.control.relay_batch]."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Call the recipients of pending voice relays and play them the message (run it from cron).
        Each relay ends delivered, pending (tried again later) or failed (after the last attempt)."""
        from cc.telephony.control_wiring import call_control

        with call_control(_common.services(ctx), events=True) as control:
            results = control.deliver_relays(limit=limit)
        if json_out:
            _common.print_json(results)
            return
        if not results:
            _common.info("no voice relay to deliver")
            return
        _common.print_table(["relay", "to", "status", "attempts", "detail"],
                            [[r["id"], r["target"], r["status"], r["attempts"], r["detail"]] for r in results])

    @relay_app.command("list")
    def relay_list_command(
        ctx: typer.Context,
        status: str = typer.Option(None, "--status", help="Only relays in this status (pending, calling, delivered, failed)."),
        limit: int = typer.Option(50, "--limit", min=1, max=10000, help="At most this many."),
        json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Voice relays and their delivery status."""
        from cc.telephony.control_wiring import offline

        rows = offline(_common.services(ctx)).relays(status, limit)
        if json_out:
            _common.print_json(rows)
            return
        _common.print_table(["relay", "call", "from", "to", "status", "attempts", "updated"],
                            [[r["id"], r["call_id"], r["caller"], r["target"], r["status"], r["attempts"], r["updated_at"][:19]] for r in rows])
