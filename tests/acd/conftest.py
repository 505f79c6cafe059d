from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared_fixtures

from acd_helpers import QUEUES, START, make_db, service  # noqa: E402
from shared_fixtures import db_fixtures, telephony_fixtures  # noqa: E402


db_template, db_file, clock = db_fixtures(make_db, START)


@pytest.fixture
def acd(db_file, clock):
    svc = service(db_file, clock)
    svc.import_queues(QUEUES, source="test")
    yield svc
    svc.store.close()


asterisk_root, asterisk = telephony_fixtures("acd")  # the real-Asterisk fixtures of tests/telephony
