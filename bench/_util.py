"""Shared by the benchmarks: one way to build a figure and to take percentiles."""

from __future__ import annotations


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
