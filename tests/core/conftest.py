"""Fixtures for the order pipeline tests: a database file in tmp_path, a frozen clock, services built by the
composition root, and the CLI run in-process (``cc.cli.main``) against that file via ``--db``."""

from __future__ import annotations

import random
import shutil

import pytest
from core_helpers import START, FakeDairy, cached_get_command, make_services, prepare_in_process_cli, run_cli, seed_world

from cc.clock import FrozenClock
from cc.config import Config


FAST_GET_COMMAND = cached_get_command()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No config, user or database from the environment; English labels; never ./cc.db."""
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


@pytest.fixture
def services(config, clock):
    from cc.services.container import build_services

    with build_services(config, clock=clock, rng=random.Random(1234)) as services:
        yield services


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    """One seeded database file per test session; each test gets a copy (seeding costs ~0.4 s)."""
    path = tmp_path_factory.mktemp("core-template") / "world.db"
    svc = make_services(path, FrozenClock(START))
    seed_world(svc)
    svc.users.add("wang", role="agent", password="secret-1", display_name="王芳")
    svc.users.add("li", role="supervisor", password="secret-2")
    svc.users.add("zhao", role="expert", password="secret-3")
    svc.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc.db.conn.close()
    return path


@pytest.fixture
def world(world_template, db_path, config, clock):
    """Services over a seeded database: products 鲜牛奶 (MILK-1L, 5.00, 100 in stock) and 酸奶 (YOG-200, 3.50,
    50), customers 张三 (PHONE, 100.00) and 李四 (PHONE2, 0.00), users wang (agent), li (supervisor), zhao (expert)."""
    from cc.services.container import build_services

    shutil.copyfile(world_template, db_path)
    with build_services(config, clock=clock, rng=random.Random(1234)) as services:
        yield services


@pytest.fixture
def fake_dairy():
    return FakeDairy()


@pytest.fixture
def as_user(db_path, clock):
    """Services acting as a named user (role checks apply), on the same file and clock."""

    built = []

    def build(name: str, dairy_link=None):  # noqa: ANN001, ANN202
        built.append(make_services(db_path, clock, user=name, dairy_link=dairy_link))
        return built[-1]

    yield build
    for services in built:
        services.close()


@pytest.fixture
def cli(db_path, monkeypatch):
    """``cli("order", "new", ...)`` runs ``cc --db <tmp file> order new ...`` in this process."""
    import typer.main

    import cc.cli

    prepare_in_process_cli()
    monkeypatch.setattr(cc.cli, "_register", lambda: None)  # main() registers on every call; once is enough
    monkeypatch.setattr(typer.main, "get_command", FAST_GET_COMMAND)

    def run(*argv: str, stdin: str = "", db: bool = True, user: str | None = None):  # noqa: ANN202
        prefix = ["--db", str(db_path)] if db else []
        if user:
            prefix += ["--user", user]
        return run_cli([*prefix, *argv], stdin=stdin)

    return run
