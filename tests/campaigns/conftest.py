"""The shared fixtures of tests/reports/care_fixtures.py (reports, complaints and campaigns tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))

from care_fixtures import *  # noqa: E402,F401,F403
