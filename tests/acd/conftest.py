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
