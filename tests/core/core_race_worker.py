"""A worker process for the confirmation race: ``python core_race_worker.py DB``.

Protocol on stdin/stdout, one line each: ``prep CODE`` -> it answers ``ready``; then ``go`` -> it runs
``cc --db DB order confirm CODE`` in-process (``cc.cli.main``) and answers a JSON line with the exit code,
stderr and stdout. Every worker blocks on ``go`` at the same time, so the confirmations start together.
"""

from __future__ import annotations

import json
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))

from core_helpers import cached_get_command, prepare_in_process_cli, run_cli  # noqa: E402

import cc.cli  # noqa: E402
import cc.services.container  # noqa: E402,F401  (warm: the race is about the database, not module loading)
import cc.store.core  # noqa: E402,F401


def main() -> None:
    db = sys.argv[1]
    import typer.main

    prepare_in_process_cli()
    cc.cli._register = lambda: None  # once per process
    typer.main.get_command = cached_get_command()
    run_cli(["--db", db, "order", "list", "--json"])  # warm up: command tree, services, phone numbers
    out = sys.stdout
    code = None
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "prep":
            code = command[1]
            out.write("ready\n")
            out.flush()
        elif command[0] == "go":
            started = time.time()
            result = run_cli(["--db", db, "order", "confirm", code])
            out.write(json.dumps({"exit": result.code, "err": result.err, "out": result.out, "started": started}) + "\n")
            out.flush()
        elif command[0] == "quit":
            return


if __name__ == "__main__":
    main()
