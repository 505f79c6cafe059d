from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "core"))  # core_helpers.run_cli
sys.path.insert(2, str(Path(__file__).resolve().parents[1]))  # tests/: shared_fixtures

import pytest  # noqa: E402
import qa_helpers  # noqa: E402
from qa_helpers import START, make_db  # noqa: E402
from shared_fixtures import db_fixtures, telephony_fixtures  # noqa: E402

db_template, db_file, clock = db_fixtures(make_db, START)


@pytest.fixture(autouse=True)
def _close_qa_services():
    """The services qa_for() built during the test: their connections close with it."""
    yield
    while qa_helpers.OPEN_SERVICES:
        qa_helpers.OPEN_SERVICES.pop().close()

asterisk_root, asterisk = telephony_fixtures("qa")  # the real-Asterisk fixtures of tests/telephony
