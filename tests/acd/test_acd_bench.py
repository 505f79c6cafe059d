"""The ACD bench's Asterisk load run works (a few callers and agents, so it stays quick), and its pure
figures meet the target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import acd as bench_acd  # noqa: E402


def test_decision_figures():
    figures = {f["name"]: f for f in bench_acd.pure_figures()}
    assert figures["acd_decision_ms_p50"]["value"] > 0


@pytest.mark.asterisk
def test_load_run_small(asterisk, tmp_path):
    result = bench_acd.load_run(asterisk, tmp_path, callers=6, agents=2, timeout=90)
    assert result["ended"] == 6, result
    assert result["reasons"] == {"answered": 6}, result
    assert result["without_reason"] == 0
