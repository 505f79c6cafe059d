"""Services and the CLI close the database connections they open (three descriptors each in WAL mode)."""

from __future__ import annotations

import sqlite3

import fd_guard
import pytest

from cc.config import Config

pytestmark = pytest.mark.skipif(not fd_guard.available(), reason="counts /proc/self/fd")


def test_services_close_what_they_opened_and_leave_a_given_connection_open(tmp_path):
    from cc.services.container import build_services
    from cc.store.db import open_db

    config = Config(db=str(tmp_path / "cc.db"))
    build_services(config).close()  # creates the file and its schema
    before = fd_guard.count()
    with build_services(config) as services:
        services.reports.reports.ro()  # the reports' own read-only connection, opened on first use
        assert fd_guard.count() > before
    assert fd_guard.count() == before
    with pytest.raises(sqlite3.ProgrammingError):
        services.db.conn.execute("SELECT 1")
    services.close()  # twice: nothing happens

    db = open_db(config.db)
    try:
        build_services(config, db=db).close()
        assert db.conn.execute("SELECT 1").fetchone() == (1,)  # whoever opened it closes it
    finally:
        db.conn.close()
    assert fd_guard.count() == before


def test_refused_config_leaves_no_connection_open(tmp_path):
    from cc.errors import ConfigError
    from cc.services.container import build_services

    config = Config(db=str(tmp_path / "cc.db"))
    config.sms.quiet_hours = "all night"
    before = fd_guard.count()
    with pytest.raises(ConfigError):
        build_services(config)
    assert fd_guard.count() == before


def test_a_command_closes_its_connection(cli, world):
    assert cli("product", "list").code == 0  # the first run imports what the command needs
    before = fd_guard.count()
    for argv in (("product", "list"), ("stock", "set", "NOPE", "5"), ("init",)):
        cli(*argv)
    assert fd_guard.count() == before
