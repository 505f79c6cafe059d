"""The IVR bench's Asterisk side works against the real Asterisk (a few callers, so it stays quick)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import ivr_dialplan  # noqa: E402

pytestmark = pytest.mark.asterisk


def test_pure_dialplan_walk_with_simultaneous_callers(asterisk):
    asterisk.write_extensions(ivr_dialplan.dialplan_ivr())
    result = ivr_dialplan.load_callers(asterisk, 5, context="bench-ivr", exten="s", timeout=30)
    assert result.completed == 5, result.as_dict()
    assert 1.0 < result.p50 < 15.0
    assert result.calls_per_second > 0
    asterisk.wait_idle(timeout=10)


def test_a_caller_whose_walk_does_not_finish_is_not_counted(asterisk):
    asterisk.write_extensions(ivr_dialplan.dialplan_ivr())
    result = ivr_dialplan.load_callers(asterisk, 2, context="bench-ivr", exten="s", keys="", hold=1.0,
                                       timeout=30)
    assert result.completed == 0  # no keys: the caller hangs up before the IVR reaches its end
    assert result.callers == 2
