from __future__ import annotations

import pytest
from acd_helpers import QUEUES, START, make_db, service

from cc.clock import FrozenClock


@pytest.fixture(scope="session")
def acd_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("acd-template") / "acd.db"
    make_db(path)
    return path


@pytest.fixture
def db_file(acd_template, tmp_path):
    import shutil

    path = tmp_path / "cc.db"
    shutil.copyfile(acd_template, path)
    return path


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def acd(db_file, clock):
    svc = service(db_file, clock)
    svc.import_queues(QUEUES, source="test")
    yield svc
    svc.store.close()


# The real-Asterisk fixtures live in tests/telephony/conftest.py; load them here too (same code, same
# skip rules: skipped where Asterisk cannot run, failing with CC_REQUIRE_ASTERISK=1).
def _telephony_fixtures():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "telephony" / "conftest.py"
    spec = importlib.util.spec_from_file_location("acd_telephony_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_tel = _telephony_fixtures()
asterisk_root = _tel.asterisk_root
asterisk = _tel.asterisk
