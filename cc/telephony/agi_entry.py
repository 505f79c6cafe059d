"""``cc-agi SCRIPT``: classic AGI (Asterisk starts one process per call, the session on stdin/stdout).

Lean on purpose: no typer, rich, textual or sqlite-utils (those cost ~270 ms per call here; this starts in
a few tens of ms). Options: ``--config FILE`` / ``CC_CONFIG``, ``--db FILE`` / ``CC_DB``. Exit status 0
when the call ran (whatever its result), 2 for a usage or configuration error.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run one call. Without ``argv`` this is Asterisk's process for the call (the ``cc-agi`` script): it
    ends here, see ``_end_process``."""
    if argv is not None:
        return _main(list(argv), keep_open=False)
    _end_process(_main(sys.argv[1:], keep_open=True))
    return 0  # pragma: no cover - not reached


def _end_process(code: int) -> None:
    """End the call's process without closing the database: closing the last connection to it checkpoints
    the WAL into the database file and fsyncs both (10-40 ms per call here, when no other process has the
    database open). The call's commits are in the WAL already, as durable as any commit with
    synchronous=NORMAL; a later connection's checkpoint moves them. Also skips the interpreter's teardown."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # Asterisk closed the pipe: nothing more to tell it
            pass
    os._exit(code)


def _main(args: list[str], *, keep_open: bool) -> int:
    config_path = db = None
    script = None
    while args:
        arg = args.pop(0)
        if arg in ("--config", "--db") and args:
            value = args.pop(0)
            if arg == "--config":
                config_path = value
            else:
                db = value
        elif arg in ("-h", "--help"):
            sys.stdout.write(__doc__ or "")
            return 0
        elif script is None and not arg.startswith("-"):
            script = arg
        else:
            sys.stderr.write(f"cc-agi: unexpected argument {arg!r}\n")
            return 2
    from cc.errors import CcError

    try:
        from cc.services.ports import CallerHungUp, ChannelError
        from cc.telephony import handlers
        from cc.telephony.agi import stdio_agi
        from cc.telephony.classic_config import classic_config

        config = classic_config(config_path, db)
        runtime = handlers.build_runtime(config, one_connection=True)
        try:
            try:
                agi = stdio_agi()
            except (CallerHungUp, ChannelError) as exc:
                runtime.fail_early({}, script or "", f"bad AGI session start: {exc}")
                return 0
            handlers.handle(agi, runtime, config, script)
        finally:
            if not keep_open:
                runtime.connection.close()
    except CcError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        return int(exc.exit_code)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
