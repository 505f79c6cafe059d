from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
