"""Shared by the benchmarks: one way to build a figure, to take percentiles and to sample memory."""

from __future__ import annotations

import os
import threading


def figure(name: str, value: float, unit: str, *, baseline: float | None = None, target: float | None = None,
           higher_is_better: bool = True, ratio: float | None = None) -> dict:
    out: dict = {"name": name, "value": round(value, 4), "unit": unit}
    if baseline is not None:
        out["baseline"] = round(baseline, 4)
        out["ratio"] = round(ratio if ratio is not None else (value / baseline if baseline else 0.0), 4)
    elif ratio is not None:
        out["ratio"] = round(ratio, 4)
    if target is not None:
        out["target"] = target
        out["ok"] = value >= target if higher_is_better else value <= target
    return out


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_kib(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def tree_rss_kib(pid: int) -> int:
    """A process's resident memory with its children's (``cc agi serve --workers N``: the workers)."""
    total = rss_kib(pid)
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(rss_kib(child) for child in children.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


class PeakRss:
    """Samples a process's resident memory every 50 ms, with its children's (``cc agi serve --workers``)
    unless ``children=False`` (a bench that started Asterisk itself); ``peak`` in KiB. (``ru_maxrss`` is the
    peak of the process's whole life: in ``bench/run.py`` that is every earlier benchmark's too.)"""

    def __init__(self, pid: int, children: bool = True) -> None:
        self.pid = pid
        self.peak = 0
        self._measure = tree_rss_kib if children else rss_kib
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._measure(self.pid))

    def start(self) -> PeakRss:
        self.peak = self._measure(self.pid)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
