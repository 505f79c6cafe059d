from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests/: shared_fixtures

from shared_fixtures import db_fixtures, telephony_fixtures  # noqa: E402
from tui_helpers import START, build_world  # noqa: E402

db_template, db_file, clock = db_fixtures(build_world, START)
asterisk_root, asterisk = telephony_fixtures("tui")  # the real-Asterisk fixtures of tests/telephony
