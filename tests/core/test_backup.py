"""``cc backup``: a consistent, checked copy while another process keeps taking orders; refusals leave the
target alone."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

from core_helpers import PHONE, assert_clean_error


def _keep_ordering(db_path: str, stop, started) -> None:  # noqa: ANN001 - runs in a child process
    import random

    from cc.clock import SystemClock
    from cc.config import Config
    from cc.services.container import build_services

    with build_services(Config(db=db_path), clock=SystemClock(), rng=random.Random()) as services:
        while not stop.is_set():
            order = services.orders.new(phone=PHONE, items=[("MILK-1L", 1)], deliveries=1)
            services.orders.confirm(order.code, deliver_now=False)
            started.set()


def test_backup_while_orders_are_charged_is_consistent_and_checked(world, cli, db_path, tmp_path):
    world.accounts.topup(PHONE, 10_000_000)
    world.catalog.set_stock("MILK-1L", 1_000_000)
    ctx = multiprocessing.get_context("spawn")
    stop, started = ctx.Event(), ctx.Event()
    writer = ctx.Process(target=_keep_ordering, args=(str(db_path), stop, started))
    writer.start()
    try:
        assert started.wait(60), "the writer process took no order"
        target = tmp_path / "backups" / "cc-2026-11-26.db"
        target.parent.mkdir()
        result = cli("backup", str(target), "--json")
    finally:
        stop.set()
        writer.join(30)
    assert result.code == 0, result
    written = json.loads(result.out)
    assert written["integrity"] == "ok" and written["orders"] >= 1 and written["file"] == str(target)
    copy = sqlite3.connect(target)
    try:
        # One instant: every charge in the ledger has its balance movement, and the copy has no WAL.
        for customer_id, balance in copy.execute("SELECT customer_id, balance_fen FROM accounts"):
            assert copy.execute("SELECT COALESCE(SUM(amount_fen), 0) FROM ledger WHERE customer_id = ?",
                                (customer_id,)).fetchone()[0] == balance
        charged = copy.execute("SELECT count(*) FROM orders WHERE status = 'charged'").fetchone()[0]
        charges = copy.execute("SELECT count(*) FROM ledger WHERE kind = 'charge'").fetchone()[0]
        awaiting = copy.execute("SELECT count(*) FROM orders WHERE status = 'awaiting_confirmation'").fetchone()[0]
        assert charged == charges and written["ledger"] == charges + 2  # and the two top-ups
        assert written["orders"] == charged + awaiting and awaiting <= 1  # at most the one being entered
    finally:
        copy.close()
    assert not list(target.parent.glob(".*partial*"))


def test_refusals_leave_the_target_alone(world, cli, db_path, tmp_path):
    target = tmp_path / "b.db"
    target.write_bytes(b"yesterday's backup")
    assert_clean_error(cli("backup", str(target)), 1)  # exists
    assert target.read_bytes() == b"yesterday's backup"
    assert_clean_error(cli("backup", str(db_path)), 2)  # the live file
    assert_clean_error(cli("backup", str(tmp_path / "no" / "b.db")), 2)
    assert_clean_error(cli("backup", str(tmp_path)), 2)  # a folder
    assert_clean_error(cli("backup", str(target), user="li"), 1)  # a supervisor may not: customers' data
    assert_clean_error(cli("--db", str(tmp_path / "none.db"), "backup", str(tmp_path / "c.db"), db=False), 1)
    assert not (tmp_path / "none.db").exists()  # a typo in --db creates no empty database
    result = cli("backup", str(target), "--force")
    assert result.code == 0 and "integrity ok" in result.err, result
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("SELECT name FROM customers ORDER BY id").fetchone()[0] == "张三"
    finally:
        copy.close()
