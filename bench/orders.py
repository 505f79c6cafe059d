"""Orders entered and confirmed per second through the services on a file database (target 1,000/s).

Baseline: the same rows written with bare sqlite3 statements in one transaction per order, so the ratio
shows what the service layer (checks, history, idempotency, dairy hand-off) costs on top of SQLite.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from bench._util import figure

ORDERS = 2000


def _services(folder: Path, link: object | None):
    from cc.clock import FrozenClock
    from cc.config import Config
    from cc.services.container import build_services

    config = Config(db=str(folder / "bench.db"))
    config.dairy.drop_dir = str(folder / "dairy")
    services = build_services(config, clock=FrozenClock(), rng=random.Random(7), dairy_link=link)
    services.catalog.add_product("MILK-1L", name="鲜牛奶 1L", price_fen=500, unit="瓶")
    services.catalog.set_stock("MILK-1L", 10_000_000)
    phones = [f"1380013{i:04d}" for i in range(200)]
    for i, phone in enumerate(phones):
        services.customers.add(phone=phone, name=f"客户{i}", address="北京市")
        services.accounts.topup(phone, 100_000_000)
    return services, phones


def _through_services(link: object | None, background: bool = True) -> tuple[float, float]:
    """Entry + confirmation (charge, outbox row) per second; then the dairy worker's drain rate.

    With the background checkpointer the processes that take orders run (``cc agent``, ``cc sms serve``):
    the WAL is copied into the database by its thread, not inside an order's COMMIT (``background=False``:
    the COMMIT that takes the WAL past wal_autocheckpoint pages does all of it, as in a one-shot command)."""
    import contextlib

    from cc.store.checkpoint import background_checkpoints

    with tempfile.TemporaryDirectory() as tmp:
        services, phones = _services(Path(tmp), link)
        with background_checkpoints(Path(tmp) / "bench.db") if background else contextlib.nullcontext():
            started = time.perf_counter()
            for i in range(ORDERS):
                order = services.orders.new(phone=phones[i % len(phones)], items=[("MILK-1L", 1)], deliveries=30)
                services.orders.confirm(order.code, deliver_now=False)  # the daemons' path: a dairy worker drains
            pipeline = ORDERS / (time.perf_counter() - started)
        started = time.perf_counter()
        sent = sum(1 for a in services.dairy.deliver_due(limit=ORDERS) if a.status == "sent")
        drain = sent / (time.perf_counter() - started)
        services.close()
        return pipeline, drain


def _cost_per_order(orders: int = 200) -> tuple[float, float]:
    """What one order (entry + confirmation) writes, independent of the machine's load: SQL statements
    run, and WAL pages (frames of the database's page size, 1 KiB on new files: what every commit writes and
    a checkpoint later fsyncs)."""
    import os

    with tempfile.TemporaryDirectory() as tmp:
        services, phones = _services(Path(tmp), None)
        conn = services.db.conn
        conn.execute("PRAGMA wal_autocheckpoint=0")  # keep every frame in the WAL to count them
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        for i in range(orders):
            order = services.orders.new(phone=phones[i % len(phones)], items=[("MILK-1L", 1)], deliveries=30)
            services.orders.confirm(order.code, deliver_now=False)
        conn.set_trace_callback(None)
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        frames = (os.path.getsize(Path(tmp) / "bench.db-wal") - 32) / (page + 24)
        services.close()
        return len(statements) / orders, frames / orders


def _bare_sqlite() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(str(Path(tmp) / "bare.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(
            "CREATE TABLE o (id INTEGER PRIMARY KEY, code TEXT UNIQUE, status TEXT, total INTEGER);"
            "CREATE TABLE l (order_id INTEGER, sku TEXT, qty INTEGER);"
            "CREATE TABLE s (sku TEXT PRIMARY KEY, quantity INTEGER, reserved INTEGER);"
            "CREATE TABLE e (order_id INTEGER, status TEXT);"
            "CREATE TABLE g (id INTEGER PRIMARY KEY, amount INTEGER, key TEXT UNIQUE);"
            "CREATE TABLE a (id INTEGER PRIMARY KEY, balance INTEGER);"
            "INSERT INTO s VALUES ('MILK-1L', 10000000, 0); INSERT INTO a VALUES (1, 100000000);"
        )
        started = time.perf_counter()
        for i in range(ORDERS):
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("INSERT INTO o (code, status, total) VALUES (?, 'awaiting', 15000)", (str(i),))
            conn.execute("INSERT INTO l VALUES (?, 'MILK-1L', 1)", (cur.lastrowid,))
            conn.execute("UPDATE s SET reserved = reserved + 30 WHERE sku = 'MILK-1L'")
            conn.execute("INSERT INTO e VALUES (?, 'awaiting')", (cur.lastrowid,))
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE o SET status = 'charged' WHERE id = ?", (cur.lastrowid,))
            conn.execute("INSERT INTO g (amount, key) VALUES (-15000, ?)", (f"charge:{i}",))
            conn.execute("UPDATE a SET balance = balance - 15000 WHERE id = 1")
            conn.execute("UPDATE s SET quantity = quantity - 30, reserved = reserved - 30 WHERE sku = 'MILK-1L'")
            conn.execute("INSERT INTO e VALUES (?, 'charged')", (cur.lastrowid,))
            conn.execute("COMMIT")
        rate = ORDERS / (time.perf_counter() - started)
        conn.close()
        return rate


def run(repeats: int = 3) -> list[dict]:
    """Each rate is the median of ``repeats`` runs, interleaved (baseline, services, inline checkpoints),
    so one disturbed run on a busy machine does not make the figure."""
    import statistics

    baselines, pipelines, drains, inlines = [], [], [], []
    for _ in range(repeats):
        baselines.append(_bare_sqlite())
        pipeline, drain = _through_services(None)  # the real dairy drop folder: one fsynced file per order
        pipelines.append(pipeline)
        drains.append(drain)
        inlines.append(_through_services(None, background=False)[0])
    baseline, pipeline = statistics.median(baselines), statistics.median(pipelines)
    drain, inline = statistics.median(drains), statistics.median(inlines)
    statements, pages = _cost_per_order()
    return [
        {**figure("orders.entered_confirmed_per_s", pipeline, "orders/s", baseline=baseline, target=1000),
         "runs": [round(r) for r in pipelines]},
        figure("orders.entered_confirmed_per_s_inline_checkpoints", inline, "orders/s"),
        figure("orders.dairy_files_per_s", drain, "orders/s"),
        figure("orders.statements_per_order", statements, "statements"),  # BEGIN/COMMIT included
        figure("orders.wal_pages_per_order", pages, "pages"),
    ]
