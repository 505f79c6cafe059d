"""Fixtures shared by tests/reports, tests/complaints and tests/campaigns (each conftest star-imports them)."""

from __future__ import annotations

import shutil

import pytest
from care_helpers import START, make_services, run_cli, seed

from cc.clock import FrozenClock
from cc.config import Config


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    for name in ("CC_CONFIG", "CC_DB", "CC_USER", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "cc.db"


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def config(db_path):
    return Config(db=str(db_path))


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    """Seeded once per session; each test gets a copy (migrations, seeding and password hashing cost)."""
    path = tmp_path_factory.mktemp("care-template") / "world.db"
    svc = make_services(path, FrozenClock(START))
    seed(svc)
    svc.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc.db.conn.close()
    return path


@pytest.fixture
def world(world_template, db_path, clock, config):
    shutil.copyfile(world_template, db_path)
    with make_services(db_path, clock, config=config) as services:
        yield services


@pytest.fixture
def as_user(db_path, clock, config):
    built = []

    def build(name: str | None):  # noqa: ANN202
        built.append(make_services(db_path, clock, user=name, config=config))
        return built[-1]

    yield build
    for services in built:
        services.close()


@pytest.fixture
def cli(db_path, monkeypatch):
    import cc.cli

    if not getattr(cc.cli, "_care_tests_registered", False):
        cc.cli._register()
        cc.cli._care_tests_registered = True
    monkeypatch.setattr(cc.cli, "_register", lambda: None)

    def run(*argv: str, user: str | None = None, config_file: str | None = None):  # noqa: ANN202
        prefix = ["--db", str(db_path)]
        if config_file:
            prefix = ["--config", config_file, *prefix]
        if user:
            prefix += ["--user", user]
        return run_cli([*prefix, *argv])

    return run
