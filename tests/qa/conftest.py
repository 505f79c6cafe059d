from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "core"))  # core_helpers.run_cli

from qa_helpers import START, make_db  # noqa: E402

from cc.clock import FrozenClock  # noqa: E402


@pytest.fixture(scope="session")
def qa_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa-template") / "cc.db"
    make_db(path)
    return path


@pytest.fixture
def db_file(qa_template, tmp_path):
    path = tmp_path / "cc.db"
    shutil.copyfile(qa_template, path)
    return path


@pytest.fixture
def clock():
    return FrozenClock(START)


# The real-Asterisk fixtures live in tests/telephony/conftest.py; load them here too (same code, same skip
# rules: skipped where Asterisk cannot run, failing with CC_REQUIRE_ASTERISK=1).
def _telephony_fixtures():  # noqa: ANN202
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "telephony" / "conftest.py"
    spec = importlib.util.spec_from_file_location("qa_telephony_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_tel = _telephony_fixtures()
asterisk_root = _tel.asterisk_root
asterisk = _tel.asterisk
