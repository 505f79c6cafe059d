from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "core"))  # core_helpers.run_cli

from supervisor_helpers import START, build_world, copy_world  # noqa: E402

from cc.clock import FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
def supervisor_world(tmp_path_factory):
    path = tmp_path_factory.mktemp("supervisor-world") / "cc.db"
    build_world(path)
    return path


@pytest.fixture
def db_file(supervisor_world, tmp_path):
    return copy_world(supervisor_world, tmp_path)


@pytest.fixture
def clock():
    return FrozenClock(START)
