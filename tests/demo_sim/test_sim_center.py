"""The simulated call center behind `cc demo`: real IVR, ACD, console, order and SMS services in simulated time."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cc.demo import seed_center
from cc.services.container import build_services
from cc.sim.center import SimCenter
from cc.store.db import open_db

START = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def center_db(tmp_path: Path):  # noqa: ANN201
    return seed_center(tmp_path / "demo.db", seed=5)


def _sim_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("cc-sim")]


def _check_center_at_rest(config) -> None:  # noqa: ANN001
    db = open_db(config.db)
    try:
        states = {r["user"]: r["state"] for r in db.query("SELECT user, state FROM acd_agents")}
        assert states and set(states.values()) == {"ready"}, states
        # Nobody is left waiting, ringing or talking (a call back keeps its row: the caller's place is kept).
        assert list(db.query("SELECT id, status FROM acd_waiting WHERE status != 'callback'")) == []
        # Each order keyed on a simulated call is charged at most once, and exactly once when it got that far.
        for order in db.query("SELECT id, code, status FROM orders WHERE call_id LIKE 'sim-%'"):
            charges = db.execute("SELECT COUNT(*) FROM ledger WHERE order_id = ? AND amount_fen < 0", [order["id"]]).fetchone()[0]
            expected = 1 if order["status"] in ("charged", "sent_to_dairy", "in_delivery", "completed") else 0
            assert charges == expected, (order, charges)
        services = build_services(config, db=db)
        assert all(services.store.ledger_sum(c.id) == c.balance_fen for c in services.customers.search(limit=1000))
    finally:
        db.conn.close()


def test_a_few_simulated_minutes_answer_abandon_and_charge_orders_once(center_db) -> None:  # noqa: ANN001
    before = set(threading.enumerate())
    started = time.monotonic()
    summary = SimCenter(center_db, seed=11, calls_per_minute=7.0, start=START).run(8)
    assert time.monotonic() - started < 30
    assert summary.errors == []
    assert summary.calls >= 20
    assert summary.answered > 0 and summary.abandoned > 0, summary.lines()
    assert summary.offered == sum(summary.exits.values())
    assert summary.orders_keyed > 0 and summary.surveys > 0
    charged = sum(n for s, n in summary.orders_by_status.items() if s in ("charged", "sent_to_dairy", "in_delivery"))
    assert charged > 0, summary.lines()
    assert summary.sms_sent >= summary.orders_keyed and summary.sms_replies > 0
    _check_center_at_rest(center_db)
    assert _sim_threads() == []
    assert [t.name for t in threading.enumerate() if t not in before] == []  # callers, engine, SMS gateway, modem
    db = open_db(center_db.db)
    try:  # the calls are recorded the way the IVR records them, with the ACD's events
        calls = list(db.query("SELECT id, result FROM calls WHERE id LIKE 'sim-%'"))
        assert len(calls) == summary.calls
        kinds = {r["kind"] for r in db.query("SELECT DISTINCT kind FROM call_events WHERE call_id LIKE 'sim-%'")}
        assert {"start", "classify", "key", "queue", "acd_enter", "acd_ring", "acd_end", "end"} <= kinds
    finally:
        db.conn.close()


def test_the_same_seed_gives_the_same_calls(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        config = seed_center(tmp_path / f"{name}.db", seed=5)
        summary = SimCenter(config, seed=3, calls_per_minute=4.0, start=START, sms=False).run(5)
        db = open_db(config.db)
        try:
            calls = [(r["id"], r["result"], r["path"]) for r in db.query("SELECT id, result, path FROM calls ORDER BY id")]
        finally:
            db.conn.close()
        runs.append((calls, summary.exits, summary.ivr_results))
    assert runs[0] == runs[1]
    assert runs[0][0]
    zh = summary.lines("zh_CN")
    assert zh[0] == "模拟时长：5.0 分钟" and zh[2].startswith("进入队列：") and "接听" in zh[2]


def test_a_live_run_stops_cleanly_when_asked(center_db) -> None:  # noqa: ANN001
    sim = SimCenter(center_db, seed=2, calls_per_minute=6.0, speed=600.0, sms=False).start()
    sim.wait_started(30)
    deadline = time.monotonic() + 20
    while sim.summary.calls < 5 and time.monotonic() < deadline:
        if sim.finished.wait(0.05):
            break
    assert sim.summary.calls >= 5
    summary = sim.stop(30)
    assert summary.errors == []
    assert sim.threads_alive() == [] and _sim_threads() == []
    _check_center_at_rest(center_db)


def test_a_center_without_agents_is_refused_with_a_hint(tmp_path: Path) -> None:
    from cc.config import Config
    from cc.errors import UsageError

    config = Config(db=str(tmp_path / "empty.db"))
    open_db(config.db).conn.close()
    sim = SimCenter(config, sms=False).start()
    with pytest.raises(UsageError) as raised:
        sim.wait_started(30)
    assert "no agents" in raised.value.message and raised.value.hint
    with pytest.raises(UsageError):  # joining the engine reports its error again
        sim.join(10)
    assert sim.threads_alive() == []
