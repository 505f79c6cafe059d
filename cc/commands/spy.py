"""``cc spy``: a supervisor listens to, whispers to, or barges into an agent's live call (ChanSpy).
The supervisor's phone rings first; the session starts when they answer."""

from __future__ import annotations

import sys

import typer

from cc.commands import _common

app = typer.Typer(help="Supervisor spy on an agent's call: listen, whisper, barge.", no_args_is_help=True)


def _spy(ctx: typer.Context, mode: str, supervisor: str, agent: str, dial: str | None, json_out: bool) -> None:
    from cc.telephony.control_wiring import call_control

    with call_control(_common.services(ctx)) as control:
        result = control.spy(mode, supervisor, agent, dial=dial)
    if json_out:
        _common.print_json(result)
    else:
        sys.stdout.write(f"ringing {supervisor} to {mode} on {agent} ({result['agent_channel']})\n")


SUPERVISOR = typer.Argument(..., help="The supervisor (a user with role supervisor or admin).")
AGENT = typer.Argument(..., help="The agent whose call to join.")
DIAL = typer.Option(None, "--dial", help="Ring this phone instead of the supervisor's own (e.g. PJSIP/2001).")
JSON = typer.Option(False, "--json", help="Print as JSON.")


@app.command("listen")
def listen_command(ctx: typer.Context, supervisor: str = SUPERVISOR, agent: str = AGENT, dial: str = DIAL,
                   json_out: bool = JSON) -> None:
    """Listen to the agent's call; neither party hears the supervisor."""
    _spy(ctx, "listen", supervisor, agent, dial, json_out)


@app.command("whisper")
def whisper_command(ctx: typer.Context, supervisor: str = SUPERVISOR, agent: str = AGENT, dial: str = DIAL,
                    json_out: bool = JSON) -> None:
    """Listen and talk to the agent only; the customer does not hear the supervisor."""
    _spy(ctx, "whisper", supervisor, agent, dial, json_out)


@app.command("barge")
def barge_command(ctx: typer.Context, supervisor: str = SUPERVISOR, agent: str = AGENT, dial: str = DIAL,
                  json_out: bool = JSON) -> None:
    """Join the call: both the agent and the customer hear the supervisor."""
    _spy(ctx, "barge", supervisor, agent, dial, json_out)
