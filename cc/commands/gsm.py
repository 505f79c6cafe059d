"""``cc gsm ...``: the modem simulator (simulate) and its control socket (deliver, fault, sent)."""

from __future__ import annotations

import typer

from cc.commands._common import config, info, print_json, print_table

app = typer.Typer(help="GSM modem simulator: simulate a modem on a pty, deliver SMS to it, inject faults.", no_args_is_help=True)

_NO_SIM_HINT = "start one with: cc gsm simulate --control {path}"


def _request(control: str, payload: dict) -> dict:
    from cc.errors import Unreachable, UsageError
    from cc.gsm.simulator import control_request

    try:
        return control_request(control, payload)
    except ConnectionError:
        raise Unreachable(f"no simulator on control socket {control}", _NO_SIM_HINT.format(path=control)) from None
    except RuntimeError as exc:
        raise UsageError(f"the simulator refused: {exc}", "see cc gsm fault --help for the fault kinds") from None


@app.command()
def simulate(
    personality: str = typer.Option("generic", "--personality", "-p", help="Modem family: generic, huawei, simcom, quectel, wavecom."),
    delay: float = typer.Option(0.0, "--delay", help="Seconds each SMS send takes (realistic: 2-5; tests: 0)."),
    control: str = typer.Option(None, "--control", help="Unix socket for cc gsm deliver/fault/sent."),
    link: str = typer.Option(None, "--link", help="Stable device path (a symlink to /dev/pts/N) [default: a temporary folder]."),
    pin: str = typer.Option(None, "--pin", help="Make the SIM ask for this PIN."),
    report_delay: float = typer.Option(0.05, "--report-delay", help="Seconds until a delivery report follows a send."),
    no_reports: bool = typer.Option(False, "--no-reports", help="Never send delivery status reports by themselves."),
) -> None:
    """Run a simulated GSM modem on a pseudo-terminal until SIGINT/SIGTERM; prints the device path."""
    import signal
    import sys
    import threading

    from cc.errors import UsageError
    from cc.gsm.personalities import PERSONALITIES
    from cc.gsm.simulator import ModemSimulator

    if personality not in PERSONALITIES:
        raise UsageError(f"unknown personality {personality!r}", f"choose one of: {', '.join(PERSONALITIES)}")
    if delay < 0:
        raise UsageError("--delay must be zero or more seconds")
    try:
        sim = ModemSimulator(
            personality, delay=delay, link=link, control=control, pin=pin, auto_report=not no_reports, report_delay=report_delay
        ).start()
    except OSError as exc:
        raise UsageError(f"cannot start the simulator: {exc}", "check that the --link and --control folders exist and are writable") from None
    stop = threading.Event()

    def _stop(signum, frame):  # noqa: ANN001, ARG001
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sys.stdout.write(sim.device_path + "\n")
        sys.stdout.flush()
        info(f"simulated {personality} modem on {sim.device_path} -> {sim.pts_path}" + (f"; control socket {control}" if control else ""))
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sim.stop()
        info("simulator stopped")


@app.command()
def deliver(
    text: str = typer.Argument(..., help="The message text (Chinese and long texts are fine)."),
    sender: str = typer.Option(..., "--from", help="The phone number it comes from, e.g. +8613900139000."),
    control: str = typer.Option(..., "--control", help="The simulator's control socket."),
    ucs2: bool = typer.Option(False, "--ucs2", help="Send as UCS2 even if the text fits GSM-7."),
    gap: float = typer.Option(0.0, "--gap", help="Seconds between the parts of a long message (0: back to back)."),
) -> None:
    """Deliver an SMS "from a phone" to the simulated modem."""
    answer = _request(control, {"cmd": "deliver", "from": sender, "text": text, "ucs2": ucs2, "gap": gap})
    info(f"delivered ({len(answer.get('indexes', []))} part(s) stored on the SIM)")


@app.command()
def fault(
    kind: str = typer.Argument(
        ...,
        help="silence | error | cms_error | garbage | bad_byte | split | burst | slow_send | unplug | replug | no_network | clear",
    ),
    control: str = typer.Option(..., "--control", help="The simulator's control socket."),
    count: int = typer.Option(1, "--count", help="How many commands/notifications/messages it affects."),
    seconds: float = typer.Option(None, "--seconds", help="silence: how long (default: until cleared); slow_send: extra seconds."),
    code: int = typer.Option(500, "--code", help="cms_error: the +CMS ERROR code."),
    command: str = typer.Option(None, "--command", help="error/cms_error: only commands starting with this (e.g. AT+CMGS)."),
    pause: float = typer.Option(0.3, "--pause", help="split: seconds between the pieces."),
    replug_after: float = typer.Option(None, "--replug-after", help="unplug: plug back in after this many seconds."),
) -> None:
    """Inject a fault into the running simulator."""
    payload: dict = {"cmd": "fault", "kind": kind, "count": count, "code": code, "pause": pause}
    if seconds is not None:
        payload["seconds"] = seconds
    if command:
        payload["command"] = command
    if replug_after is not None:
        payload["replug_after"] = replug_after
    _request(control, payload)
    info(f"fault {kind} injected")


@app.command()
def sent(
    ctx: typer.Context,
    control: str = typer.Option(..., "--control", help="The simulator's control socket."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the SMS the simulated modem has sent (parts of long messages joined)."""
    import datetime as _dt

    from cc.i18n import t

    messages = _request(control, {"cmd": "sent"})["messages"]
    for message in messages:
        message["at"] = _dt.datetime.fromtimestamp(message["at"], _dt.timezone.utc).isoformat(timespec="milliseconds")
    if as_json:
        print_json(messages)
        return
    locale = config(ctx).resolved_locale()
    print_table(
        [t(c, locale) for c in ("at", "phone", "parts", "refs", "report", "text")],
        [
            [m["at"][:19].replace("T", " "), m["to"], m["parts"], ",".join(map(str, m["references"])), t("yes" if m["status_report"] else "no", locale), m["text"]]
            for m in messages
        ],
    )


@app.command()
def personalities(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the simulated modem families and their quirks."""
    from cc.gsm.personalities import PERSONALITIES

    rows = [{"name": p.name, "manufacturer": p.manufacturer, "model": p.model, "quirks": p.description} for p in PERSONALITIES.values()]
    if as_json:
        print_json(rows)
        return
    print_table(["name", "manufacturer", "model", "quirks"], [list(r.values()) for r in rows])
