"""Many dispatchers and many callers at once on one SQLite file (separate processes, each with its own
connection): no agent is ever given two calls, no call two agents, and no call is lost."""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from collections import Counter, defaultdict

import pytest
from acd_helpers import make_db

from cc.clock import SystemClock
from cc.services.acd import AcdService, AcdSettings
from cc.store.acd import AcdStore
from cc.store.calls import connect

AGENTS = [f"ag{i:02d}" for i in range(12)]
CALLS_PER_PRODUCER = 60
PRODUCERS = 2
DISPATCHERS = 4


def _service(path: str) -> AcdService:
    return AcdService(AcdStore(connect(path)), SystemClock(), AcdSettings(stale_after=0))


def _producer(path: str, n: int, start: mp.Event) -> None:
    acd = _service(path)
    start.wait(10)
    try:
        for i in range(CALLS_PER_PRODUCER):
            entry = acd.enter(f"p{n}-{i}", "orders" if i % 3 else "changes", f"+86138{n:03d}{i:05d}", vip=i % 7 == 0)
            assert entry.waiting_id is not None
    finally:
        acd.store.close()


def _dispatcher(path: str, start: mp.Event, out: mp.Queue) -> None:
    acd = _service(path)
    start.wait(10)
    claims = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = acd.dispatch()
        for waiting_id, agent in got:
            claims.append((waiting_id, agent))
            acd.answered(waiting_id)
            acd.finished(waiting_id)  # wrap-up 0: straight back to ready
        if got:
            continue
        done = acd.store.conn.execute("SELECT count(*) FROM acd_exits").fetchone()[0]
        if done >= CALLS_PER_PRODUCER * PRODUCERS:
            break
        time.sleep(0.002)
    acd.store.close()
    out.put(claims)


@pytest.mark.parametrize("mode", ["processes", "threads"])
def test_many_dispatchers_many_calls(tmp_path, mode):
    path = tmp_path / "race.db"
    make_db(path, users=AGENTS)
    acd = _service(str(path))
    acd.import_queues({"queues": {
        "orders": {"service": "orders", "wrap_up_seconds": 0, "strategy": "longest_idle"},
        "changes": {"service": "changes", "wrap_up_seconds": 0, "strategy": "highest_skill"},
    }})
    for i, user in enumerate(AGENTS):
        skills = ["orders:5"] if i % 2 else ["orders:3", f"changes:{1 + i % 9}"]
        acd.set_agent(user, f"Local/{user}@t", skills)
        acd.change_state(user, "login")

    if mode == "processes":
        ctx = mp.get_context("fork")
        start, out = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_dispatcher, args=(str(path), start, out)) for _ in range(DISPATCHERS)]
        workers += [ctx.Process(target=_producer, args=(str(path), n, start)) for n in range(PRODUCERS)]
    else:  # one process, a connection per thread
        start, out = threading.Event(), queue.Queue()
        workers = [threading.Thread(target=_dispatcher, args=(str(path), start, out)) for _ in range(DISPATCHERS)]
        workers += [threading.Thread(target=_producer, args=(str(path), n, start)) for n in range(PRODUCERS)]
    for w in workers:
        w.start()
    start.set()
    claims = []
    for _ in range(DISPATCHERS):
        claims += out.get(timeout=90)
    for w in workers:
        w.join(timeout=30)
        assert not w.is_alive()
        assert mode == "threads" or w.exitcode == 0

    total = CALLS_PER_PRODUCER * PRODUCERS
    per_call = Counter(w for w, _ in claims)
    assert len(per_call) == total and set(per_call.values()) == {1}  # every call once, none twice
    exits = acd.exits(limit=10_000)
    assert Counter(e["reason"] for e in exits) == {"answered": total}
    assert acd.store.conn.execute("SELECT count(*) FROM acd_waiting").fetchone()[0] == 0  # none lost
    # each agent's history is ringing -> on_call -> ready, call after call: never two calls at once
    history = defaultdict(list)
    for user, state in acd.store.conn.execute("SELECT user, state FROM acd_agent_events ORDER BY id"):
        history[user].append(state)
    for user, states in history.items():
        assert states[0] == "ready"
        body = states[1:]
        assert body == ["ringing", "on_call", "ready"] * (len(body) // 3), user
    assert all(a["state"] == "ready" for a in acd.agents())
    acd.store.close()
