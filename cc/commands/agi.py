"""``cc agi``: the FastAGI server and classic AGI."""

from __future__ import annotations

import typer

from cc.commands import _common

app = typer.Typer(help="The AGI server Asterisk hands hotline calls to.", no_args_is_help=True)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: str = typer.Option(None, "--host", help="Listen address [default: agi.host, 127.0.0.1]."),
    port: int = typer.Option(None, "--port", min=0, max=65535, help="TCP port [default: agi.port, 4573]."),
    workers: int = typer.Option(None, "--workers", min=1, max=64,
                                help="Processes accepting calls on the port, about one per CPU core [default: agi.workers, 1]."),
) -> None:
    """Serve FastAGI (agi://HOST:PORT/inbound, /staff, ...) until SIGTERM or Ctrl-C; calls in progress get
    5 seconds to finish, then are cut (their records say so)."""
    import logging

    from cc.errors import Unreachable
    from cc.telephony import server

    config = _common.config(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def ready(srv) -> None:  # noqa: ANN001
        _common.info(f"cc agi: serving FastAGI on {srv.server_address[0]}:{srv.port} (database {config.db})")

    try:
        total = server.serve(config, host, port, ready=ready, workers=workers or config.agi.workers)
    except OSError as exc:
        raise Unreachable(
            f"cannot listen on {host or config.agi.host}:{config.agi.port if port is None else port}: {exc.strerror or exc}",
            "another AGI server may be running there; choose --port or stop it",
        ) from None
    _common.info(f"cc agi: stopped after {total} calls")


@app.command("run")
def run_command(
    ctx: typer.Context,
    script: str = typer.Argument("inbound", help="Entry point: inbound, staff, ... (as in the FastAGI URL)."),
) -> None:
    """Classic AGI: run one call on stdin/stdout (Asterisk: AGI(cc-agi,inbound) is the faster way)."""
    import sys

    from cc.telephony import agi_entry

    state = _common.state(ctx)
    args = [script]
    if state.config_path:
        args += ["--config", state.config_path]
    args += ["--db", _common.config(ctx).db]
    code = agi_entry.main(args)
    if code:
        sys.exit(code)
