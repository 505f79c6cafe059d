"""``cc --help`` start-up time, against ``python -c pass`` in the same run. Target: under 0.3 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench._util import figure


def _time(argv: list[str], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run() -> list[dict]:
    baseline = _time([sys.executable, "-c", "pass"])
    value = _time([sys.executable, "-m", "cc", "--help"])
    return [figure("startup.cc_help", value, "s", baseline=baseline, target=0.3, higher_is_better=False)]
