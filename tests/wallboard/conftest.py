"""The wallboard tests reuse the seeded world of tests/reports (care_fixtures) and add a fixed ACD history."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))

from care_fixtures import *  # noqa: E402,F401,F403


@pytest.fixture
def board_config(config):
    config.wallboard.service_level_min_offered = 3
    config.wallboard.caller_wait_alert_seconds = 100
    return config


@pytest.fixture
def board(world, board_config, clock):
    """The seeded world plus wallboard_history (clock at its NOW)."""
    from wallboard_history import NOW, build

    build(world.db)
    clock.advance(0)
    assert clock.now().isoformat().startswith(NOW[:19])
    return world
