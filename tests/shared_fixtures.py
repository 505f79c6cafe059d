"""Fixture shapes several test folders share; a folder's conftest.py assigns them to its own names:

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for this module
    from shared_fixtures import db_fixtures, telephony_fixtures

    db_template, db_file, clock = db_fixtures(make_db, START)
    asterisk_root, asterisk = telephony_fixtures("qa")

- ``db_fixtures(build, start)``: ``db_template`` (session: a database built once by ``build(path)``),
  ``db_file`` (a copy of it in the test's tmp_path, ``cc.db``) and ``clock`` (``FrozenClock(start)``).
- ``telephony_fixtures(folder)``: the real-Asterisk fixtures ``asterisk_root`` and ``asterisk`` of
  tests/telephony/conftest.py (same code, same skip rules: skipped where Asterisk cannot run, failing
  with CC_REQUIRE_ASTERISK=1), loaded by path as ``<folder>_telephony_conftest``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cc.clock import FrozenClock


def db_fixtures(build: Callable[[Path], Any], start: datetime) -> tuple[Any, Any, Any]:
    @pytest.fixture(scope="session")
    def db_template(tmp_path_factory):  # noqa: ANN001, ANN202
        path = tmp_path_factory.mktemp("db-template") / "cc.db"
        build(path)
        return path

    @pytest.fixture
    def db_file(db_template, tmp_path):  # noqa: ANN001, ANN202
        path = tmp_path / "cc.db"
        shutil.copyfile(db_template, path)
        return path

    @pytest.fixture
    def clock():  # noqa: ANN202
        return FrozenClock(start)

    return db_template, db_file, clock


def telephony_fixtures(folder: str) -> tuple[Any, Any]:
    path = Path(__file__).resolve().parent / "telephony" / "conftest.py"
    spec = importlib.util.spec_from_file_location(f"{folder}_telephony_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.asterisk_root, module.asterisk
