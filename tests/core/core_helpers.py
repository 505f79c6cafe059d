"""Shared by the tests/core suite: a seeded world, an in-process CLI runner, a database snapshot, and the
pipeline invariants (checked with plain SQL on a separate connection, so they see only committed data)."""

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

PHONE = "+8613800138000"
PHONE2 = "+8613900139000"
START = "2026-11-26T02:00:00+00:00"  # 10:00 in Asia/Shanghai; tomorrow is 2026-11-27
MILK, YOGURT = "MILK-1L", "YOG-200"


def make_services(db_path: Path | str, clock: FrozenClock | None = None, *, seed: int = 1234, user: str | None = None,
                  config: Config | None = None, dairy_link: object | None = None):  # noqa: ANN201
    from cc.services.container import build_services

    config = config or Config(db=str(db_path))
    return build_services(config, clock=clock or FrozenClock(START), rng=random.Random(seed), acting_user=user,
                          dairy_link=dairy_link)


def seed_world(svc, *, milk_stock: int = 100, yogurt_stock: int = 50, balance_fen: int = 100_00) -> None:  # noqa: ANN001
    """Two products (鲜牛奶 5.00, 酸奶 3.50), stock, two customers with Chinese names, a balance on the first."""
    svc.catalog.add_product(MILK, name="鲜牛奶", price_fen=500, unit="瓶")
    svc.catalog.add_product(YOGURT, name="酸奶", price_fen=350, unit="杯")
    svc.catalog.set_stock(MILK, milk_stock)
    svc.catalog.set_stock(YOGURT, yogurt_stock)
    svc.customers.add(phone=PHONE, name="张三", address="北京市海淀区中关村大街1号", zone="海淀")
    svc.customers.add(phone=PHONE2, name="李四", address="上海市浦东新区", zone="浦东")
    if balance_fen:
        svc.accounts.topup(PHONE, balance_fen, key="seed")


class FakeDairy:
    """A DairyLink that records messages and can be told to fail."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.fail = False

    def deliver(self, message: dict) -> None:
        from cc.services.dairy import DairyLinkError

        if self.fail:
            raise DairyLinkError("dairy down (test)")
        self.messages.append(message)


# --- reading the database directly -------------------------------------------------------------------
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
    """Every row of every table: compare before/after to prove a refused command changed nothing."""
    if not Path(db_path).exists():
        return {}
    conn = connect_ro(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr) for t in sorted(tables)}
    finally:
        conn.close()


def invariant_violations(db_path: Path | str, *, stock_covers_reservations: bool = True) -> list[str]:
    """The pipeline's money and stock rules, from committed data. ``stock_covers_reservations=False`` when the
    test lowered the stock behind cc's back (then only the charge may find it short)."""
    conn = connect_ro(db_path)
    problems: list[str] = []
    try:
        for cid, balance, ledger in conn.execute(
            "SELECT a.customer_id, a.balance_fen, COALESCE((SELECT SUM(amount_fen) FROM ledger l"
            " WHERE l.customer_id = a.customer_id), 0) FROM accounts a"
        ):
            if balance < 0:
                problems.append(f"customer {cid}: negative balance {balance}")
            if balance != ledger:
                problems.append(f"customer {cid}: balance {balance} != ledger sum {ledger}")
        reserved_by_orders: dict[str, int] = {}
        for sku, units in conn.execute(
            "SELECT l.sku, SUM(l.quantity * o.deliveries) FROM order_lines l JOIN orders o ON o.id = l.order_id"
            " WHERE o.status IN ('awaiting_confirmation', 'confirmed') GROUP BY l.sku"
        ):
            reserved_by_orders[sku] = units
        for sku, quantity, reserved in conn.execute("SELECT sku, quantity, reserved FROM stock"):
            if quantity < 0 or reserved < 0:
                problems.append(f"{sku}: negative stock {quantity}/{reserved}")
            if reserved != reserved_by_orders.get(sku, 0):
                problems.append(f"{sku}: reserved {reserved} != open orders' units {reserved_by_orders.get(sku, 0)}")
            if stock_covers_reservations and quantity < reserved:
                problems.append(f"{sku}: oversold, {quantity} on hand < {reserved} reserved")
        for order_id, n in conn.execute(
            "SELECT order_id, COUNT(*) FROM ledger WHERE kind = 'charge' GROUP BY order_id HAVING COUNT(*) > 1"
        ):
            problems.append(f"order {order_id} charged {n} times")
        charged = conn.execute("SELECT COALESCE(-SUM(amount_fen), 0) FROM ledger WHERE kind = 'charge'").fetchone()[0]
        reached = conn.execute(
            "SELECT COALESCE(SUM(total_fen), 0) FROM orders WHERE id IN"
            " (SELECT order_id FROM order_events WHERE to_status = 'charged')"
        ).fetchone()[0]
        if charged != reached:
            problems.append(f"charged {charged} != totals of orders that reached 'charged' {reached}")
        refunds = conn.execute(
            "SELECT o.code, o.refunded_fen, COALESCE((SELECT SUM(amount_fen) FROM ledger l WHERE l.order_id = o.id"
            " AND l.kind = 'refund'), 0), o.total_fen FROM orders o"
        ).fetchall()
        for code, refunded, ledger_refunds, total in refunds:
            if refunded != ledger_refunds or refunded > total:
                problems.append(f"order {code}: refunded {refunded}, ledger refunds {ledger_refunds}, total {total}")
    finally:
        conn.close()
    return problems


# --- the CLI in-process -----------------------------------------------------------------------------
_COMMANDS: dict[int, object] = {}


def cached_get_command():  # noqa: ANN201
    """A drop-in for ``typer.main.get_command`` that builds the click tree of an app once per process.

    Typer rebuilds the whole tree (every group, every parameter, by introspection) on each call of the app:
    ~0.2 s here. A test process calls ``cc.cli.main`` hundreds of times; the tree does not change between
    calls (click commands are reusable; each invocation gets fresh contexts)."""
    import typer.main

    original = typer.main.get_command

    def get_command(app):  # noqa: ANN001, ANN202
        import cc.cli

        if app is not cc.cli.app:
            return original(app)
        if id(app) not in _COMMANDS:
            _COMMANDS[id(app)] = original(app)
        return _COMMANDS[id(app)]

    return get_command


def prepare_in_process_cli() -> None:
    """Register the command groups once: ``main()`` would add them again on every call."""
    import cc.cli

    if not getattr(cc.cli, "_core_tests_registered", False):
        cc.cli._register()
        cc.cli._core_tests_registered = True


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:  # readable assertion failures
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


def run_cli(argv: list[str], stdin: str = "") -> Result:
    """``cc.cli.main(argv)`` with stdout/stderr captured and the SystemExit code returned."""
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
    assert code is not None, "cc.cli.main returned without sys.exit"
    return Result(code, out.getvalue(), err.getvalue())


def assert_clean_error(result: Result, code: int | None = None) -> None:
    """A refusal as users see it: Error: and Hint: on stderr, non-zero exit, no traceback, nothing on stdout."""
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    assert "Error: " in result.err, result
    assert "Hint: " in result.err, result
    assert "Traceback" not in result.err + result.out, result
    assert result.out == "", result
