from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tui_helpers import START, build_world, copy_world  # noqa: E402

from cc.clock import FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tui-world") / "cc.db"
    build_world(path)
    return path


@pytest.fixture
def db_file(world_template, tmp_path):
    return copy_world(world_template, tmp_path)


@pytest.fixture
def clock():
    return FrozenClock(START)


# The real-Asterisk fixtures live in tests/telephony/conftest.py; load them here too (same code, same skip
# rules: skipped where Asterisk cannot run, failing with CC_REQUIRE_ASTERISK=1), as tests/acd does.
def _telephony_fixtures():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "telephony" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tui_telephony_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_tel = _telephony_fixtures()
asterisk_root = _tel.asterisk_root
asterisk = _tel.asterisk
