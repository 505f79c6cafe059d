from __future__ import annotations

import pytest
from ivr_edit_helpers import START, build_template, copy_template

from cc.clock import FrozenClock


@pytest.fixture(scope="session")
def ivr_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("ivr-edit") / "cc.db"
    build_template(path)
    return path


@pytest.fixture
def db_file(ivr_template, tmp_path):
    return copy_template(ivr_template, tmp_path)


@pytest.fixture
def clock():
    return FrozenClock(START)
