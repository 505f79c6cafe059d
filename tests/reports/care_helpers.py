"""Shared by tests/reports, tests/complaints and tests/campaigns: services on a tmp database with a frozen
clock, a small seeded world, the CLI in-process, and a snapshot of every table."""

from __future__ import annotations

import contextlib
import io
import random
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

from cc.clock import FrozenClock
from cc.config import Config

START = "2026-11-26T02:00:00+00:00"  # 10:00 in Asia/Shanghai
ZHANG, LI, WANG = "+8613800138000", "+8613900139000", "+8613700137000"
MILK, YOGURT = "MILK-1L", "YOG-200"


def make_services(db_path: Path | str, clock: FrozenClock, *, user: str | None = None, config: Config | None = None):  # noqa: ANN201
    from cc.services.container import build_services

    return build_services(config or Config(db=str(db_path)), clock=clock, rng=random.Random(7), acting_user=user)


def seed(svc) -> None:  # noqa: ANN001
    """Products 鲜牛奶 (5.00) and 酸奶 (3.50) with stock; customers 张三 (100.00), 李四 (50.00), 王五 (0);
    users wang (agent) and li (supervisor)."""
    svc.catalog.add_product(MILK, name="鲜牛奶", price_fen=500, unit="瓶")
    svc.catalog.add_product(YOGURT, name="酸奶", price_fen=350, unit="杯")
    svc.catalog.set_stock(MILK, 1000)
    svc.catalog.set_stock(YOGURT, 1000)
    svc.customers.add(phone=ZHANG, name="张三", address="北京市海淀区", zone="海淀", birthday="1980-11-26")
    svc.customers.add(phone=LI, name="李四", address="上海市浦东新区", zone="浦东", tags=["vip"])
    svc.customers.add(phone=WANG, name="王五", address="广州市天河区", zone="天河")
    svc.accounts.topup(ZHANG, 100_00, key="seed-zhang")
    svc.accounts.topup(LI, 50_00, key="seed-li")
    svc.users.add("wang", role="agent", password="secret-1", display_name="王芳")
    svc.users.add("li", role="supervisor", password="secret-2")


def connect_ro(db_path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def query(db_path: Path | str, sql: str, params: tuple = ()) -> list[dict]:
    conn = connect_ro(db_path)
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def snapshot(db_path: Path | str) -> dict[str, list[tuple]]:
    conn = connect_ro(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr) for t in sorted(tables)}
    finally:
        conn.close()


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(argv: list[str], stdin: str = "") -> Result:
    import cc.cli

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    code = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cc.cli.main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = old_stdin
    assert code is not None
    return Result(code, out.getvalue(), err.getvalue())
