from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared_fixtures

from ivr_edit_helpers import START, build_template  # noqa: E402
from shared_fixtures import db_fixtures  # noqa: E402

db_template, db_file, clock = db_fixtures(build_template, START)
