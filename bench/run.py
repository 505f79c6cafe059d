"""Benchmarks: ``python bench/run.py [NAME ...]`` prints one JSON object per figure, one per line.

Each figure has ``name``, ``value``, ``unit`` and, where it applies, ``baseline`` (measured in the same
run), ``ratio``, ``target`` and ``ok``. Each benchmark is a module ``bench/<name>.py`` with ``run() -> list[dict]``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# name -> module; the order is the order they run in by default.
BENCHMARKS = {
    "startup": "bench.startup",
    "orders": "bench.orders",
    "sms": "bench.sms",
    "ivr": "bench.ivr",
    "reports": "bench.reports",
    "acd": "bench.acd",
    "ami": "bench.ami",
    "console": "bench.console",
    "dashboard": "bench.dashboard",
    "qa": "bench.qa",
    "sim": "bench.sim",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.stderr.write(f"Error: unknown benchmark {', '.join(unknown)}\nHint: choose from {', '.join(BENCHMARKS)}\n")
        return 2
    failed = False
    for name in names:
        try:
            module = importlib.import_module(BENCHMARKS[name])
        except ModuleNotFoundError as exc:
            if exc.name != BENCHMARKS[name]:
                raise
            sys.stderr.write(f"{name}: not available in this checkout\n")
            continue
        started = time.perf_counter()
        try:
            figures = module.run()
        except Exception as exc:  # one broken benchmark must not hide the others
            sys.stderr.write(f"{name}: failed: {type(exc).__name__}: {exc}\n")
            failed = True
            continue
        for figure in figures:
            print(json.dumps(figure, ensure_ascii=False), flush=True)
        sys.stderr.write(f"{name}: {time.perf_counter() - started:.1f}s\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
