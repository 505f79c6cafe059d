"""``cc sms ...``: the gateway daemon and a look at its outbox, inbox and modems."""

from __future__ import annotations

import typer

from cc.commands._common import config, info, print_json, print_table, services, state

app = typer.Typer(help="SMS: the gateway daemon (serve), send, outbox, show, inbox, status, retry.", no_args_is_help=True)


def _short(text: str | None, width: int = 40) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _clock(stamp: str | None) -> str:
    """An ISO UTC stamp as the server's local 'MM-DD HH:MM:SS'."""
    if not stamp:
        return ""
    from datetime import datetime

    return datetime.fromisoformat(stamp).astimezone().strftime("%m-%d %H:%M:%S")


def _adapter_factory(cfg):  # noqa: ANN001, ANN202
    """The real modem adapter (cc.gsm), loaded only when the daemon starts."""
    from cc.gsm.modem import GsmModemAdapter

    def make(modem):  # noqa: ANN001, ANN202
        return GsmModemAdapter(modem, multipart_timeout=cfg.sms.multipart_timeout_seconds)

    return make


def _modems(cfg, devices: list[str] | None) -> list:  # noqa: ANN001
    import dataclasses

    from cc.config import ModemConfig
    from cc.errors import ConfigError

    if not devices:
        if not cfg.gsm.modems:
            raise ConfigError("no modem configured", "add gsm.modems to the config file, or pass --modem /dev/ttyUSB0")
        return list(cfg.gsm.modems)
    known = {m.device: m for m in cfg.gsm.modems}
    return [dataclasses.replace(known[d]) if d in known else ModemConfig(device=d) for d in devices]


def _setup_logging(log_file: str | None, verbose: bool) -> None:
    import logging
    import sys

    from cc.errors import UsageError

    handler: logging.Handler
    if log_file:
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the log file {log_file}: {exc.strerror}", "choose another --log-file") from None
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


@app.command("serve")
def serve(
    ctx: typer.Context,
    modem: list[str] = typer.Option(None, "--modem", help="Serial device of a modem; repeat for several [default: gsm.modems]."),
    log_file: str = typer.Option(None, "--log-file", help="Write the log here instead of stderr [default: sms.log_file]."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every step."),
) -> None:
    """Run the SMS gateway: one worker per modem sends the outbox, stores incoming SMS, handles replies,
    expires unanswered orders. Stops cleanly on SIGTERM or Ctrl-C."""
    import signal

    from cc.services.container import build_services
    from cc.services.sms_gateway import SmsGateway

    cfg = config(ctx)
    modems = _modems(cfg, modem)
    _setup_logging(log_file or cfg.sms.log_file, verbose)
    user = state(ctx).user
    build_services(cfg, acting_user=user).close()  # opens and migrates the database once, before the threads start
    gateway = SmsGateway(
        cfg, modems=modems, make_sms=lambda: build_services(cfg, acting_user=user).sms,
        make_port=_adapter_factory(cfg),
    )

    def stop(signum, frame) -> None:  # noqa: ANN001, ARG001
        info(f"{signal.Signals(signum).name}: stopping the SMS gateway")
        gateway.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from cc.store.checkpoint import background_checkpoints

    with background_checkpoints(cfg.db):  # a YES reply's charge never waits for a WAL checkpoint
        gateway.run()


@app.command("send")
def send(
    ctx: typer.Context,
    phone: str = typer.Argument(..., help="The recipient's phone number."),
    text: str = typer.Argument(..., help="The message (Chinese and long texts are fine)."),
    kind: str = typer.Option("manual", "--kind", help="manual, notice or marketing (marketing waits for the send window)."),
) -> None:
    """Queue an SMS; the gateway daemon sends it. Prints the outbox id."""
    row = services(ctx).sms.send(phone, text, kind=kind)
    info(f"queued SMS {row['id']} to {row['phone']}")
    print(row["id"])


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    status: str = typer.Option(None, "--status", help="Only queued, sending, sent, delivered or failed."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Outgoing SMS, newest first, with their state, attempts and failure reason."""
    found = services(ctx).sms.outbox(status=status, limit=limit)
    if as_json:
        print_json(found)
        return
    print_table(
        ["id", "status", "kind", "phone", "attempts", "created", "text", "reason"],
        [[r["id"], r["status"], r["kind"], r["phone"], r["attempts"], r["created_at"][:19], _short(r["text"]),
          _short(r["reason"] or r["last_error"], 30)] for r in found],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    outbox_id: int = typer.Argument(..., metavar="ID", help="Outbox id (see 'cc sms outbox')."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One outgoing SMS: its text, state, every attempt (interrupted ones may have gone out twice) and parts."""
    found = services(ctx).sms.show(outbox_id)
    if as_json:
        print_json(found)
        return
    print(f"SMS {found['id']} to {found['phone']} ({found['kind']}): {found['status']}"
          + (f" - {found['reason']}" if found["reason"] else ""))
    print(found["text"])
    print_table(["attempt", "modem", "started", "outcome", "error"],
                [[a["id"], a["modem"], _clock(a["started_at"]), a["outcome"] or "in progress", _short(a["error"], 50)]
                 for a in found["attempt_history"]], title="Attempts")
    if found["parts"]:
        print_table(["part", "reference", "status", "report"],
                    [[f"{p['part_no']}/{p['parts']}", p["reference"], p["status"], _clock(p["report_at"])]
                     for p in found["parts"]], title="Parts")


@app.command("inbox")
def inbox(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Incoming SMS, newest first, with what the gateway made of them."""
    found = services(ctx).sms.inbox(limit=limit)
    if as_json:
        print_json(found)
        return
    print_table(
        ["id", "from", "received", "text", "outcome", "order"],
        [[r["id"], r["sender"], (r["received_at"] or r["stored_at"])[:19], _short(r["text"]),
          r["outcome"] or r["status"], r["order_code"]] for r in found],
    )


@app.command("status")
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each modem's health (signal, network, last success, last error) and the queue."""
    found = services(ctx).sms.status()
    if as_json:
        print_json(found)
        return
    if not found["modems"]:
        info("no modem has reported yet: is 'cc sms serve' running?")
    print_table(
        ["modem", "state", "signal", "operator", "heartbeat", "sent", "recv", "last error"],
        [[m["name"], (m["state"] if m["alive"] or m["state"] == "stopped" else f"silent ({m['state']})")
          + ("" if m["registered"] in (None, 1) else ", no network"), m["signal"], m["operator"],
          _clock(m["heartbeat_at"]), m["sent_count"], m["received_count"],
          _short(m["last_error"], 40) + (f" ({_clock(m['last_error_at'])})" if m["last_error"] else "")]
         for m in found["modems"]],
        title="Modems",
    )
    counts = found["outbox"]
    info("outbox: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty")
         + f"; waiting {found['queue_depth']}; marketing {'allowed' if found['marketing_allowed_now'] else 'in quiet hours'}")
    for hold in found["held_destinations"]:
        info(f"set aside until {hold['held_until'][:19]}: {hold['phone']} ({hold['failures']} failures: {_short(hold['last_error'], 60)})")


@app.command("retry")
def retry(ctx: typer.Context, outbox_id: int = typer.Argument(..., metavar="ID", help="Outbox id (see 'cc sms outbox').")) -> None:
    """Send a failed SMS again."""
    row = services(ctx).sms.retry(outbox_id)
    info(f"SMS {row['id']} to {row['phone']} queued again")
