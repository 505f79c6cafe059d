"""ACD benchmarks.

- ``acd_decision_ms``: one routing decision (order the line, pick the agent for the first call that can be
  served) with 500 agents and 1,000 waiting calls, pure domain (``cc.domain.acd.assignments(limit=1)``);
  target under 1 ms.
- ``acd_choose_agent_ms``: the strategy's pick alone for one caller over 500 agents.
- ``acd_dispatch_ms``: the service's dispatch on a SQLite file (read the line and the ready agents under
  BEGIN IMMEDIATE, decide, claim), with the same 500 agents and 1,000 calls: the whole claim, per call.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import figure, percentile  # noqa: E402

AGENTS = 500
CALLS = 1000
SERVICES = ["orders", "changes", "complaints", "operator"]


def _world(rng: random.Random):  # noqa: ANN202
    from cc.domain import acd

    now = 1_800_000_000.0
    queues = {s: acd.Queue(name=s, service=s, strategy=st, overflow_after=60, backup_skills=("*",))
              for s, st in zip(SERVICES, ["longest_idle", "highest_skill", "lowest_skill", "longest_idle"])}
    agents = []
    for i in range(AGENTS):
        skills = {s: rng.randint(1, 10) for s in rng.sample(SERVICES, rng.randint(1, 3))}
        state = "ready" if i % 5 == 0 else rng.choice(["on_call", "wrap_up", "paused", "ringing"])
        agents.append(acd.Agent(f"ag{i:03d}", state, skills, heartbeat=now - rng.uniform(0, 90),
                                idle_since=now - rng.uniform(0, 3600)))
    calls = [acd.WaitingCall(i, rng.choice(SERVICES), now - rng.uniform(0, 600), 10 if rng.random() < 0.05 else 0)
             for i in range(CALLS)]
    return acd, queues, agents, calls, now


def _time(fn, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def pure_figures() -> list[dict]:
    acd, queues, agents, calls, now = _world(random.Random(5))
    decision = _time(lambda: acd.assignments(calls, agents, queues, now, 60.0, limit=1), 300)
    head = acd.order_line(calls)[0]
    choose = _time(lambda: acd.choose_agent(queues[head.queue], agents, now - head.entered, now, 60.0), 1000)
    return [
        figure("acd_decision_ms_p50", statistics.median(decision), "ms", target=1.0, higher_is_better=False),
        figure("acd_decision_ms_p95", percentile(decision, 95), "ms"),
        figure("acd_choose_agent_ms_p50", statistics.median(choose), "ms", target=1.0, higher_is_better=False),
    ]


def dispatch_figures() -> list[dict]:
    from cc.clock import FrozenClock
    from cc.services.acd import AcdService, AcdSettings
    from cc.store.acd import AcdStore
    from cc.store.calls import connect
    from cc.store.db import open_db

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = open_db(path)
        now = "2026-11-26T02:00:00.000+00:00"
        db.conn.executemany(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, 'agent', 'x', ?, ?)",
            [(f"ag{i:03d}", now, now) for i in range(AGENTS)],
        )
        db.conn.close()
        clock = FrozenClock(now)
        acd = AcdService(AcdStore(connect(str(path))), clock, AcdSettings(stale_after=0))
        acd.import_queues({"queues": {s: {"service": s, "overflow": {"after_seconds": 60, "backup_skills": ["*"]}}
                                      for s in SERVICES}})
        store = acd.store
        with store.transaction():
            for i in range(AGENTS):
                user = f"ag{i:03d}"
                skills = {s: rng.randint(1, 10) for s in rng.sample(SERVICES, rng.randint(1, 3))}
                store.upsert_agent(user, f"Local/{user}@t", "", skills, now)
                store.set_state(user, "paused", now, reason="bench", extra={"idle_since": now})
            for i in range(CALLS):
                store.add_waiting(f"c{i}", rng.choice(SERVICES), "", False, 0, now)
        clock.advance(1)
        users = [f"ag{i:03d}" for i in range(AGENTS)]
        samples = []
        for round_ in range(50):  # one agent becomes ready, one dispatch gives it a call
            user = users[round_]
            store.set_state(user, "ready", now)
            started = time.perf_counter()
            got = acd.dispatch()
            samples.append((time.perf_counter() - started) * 1000)
            assert len(got) == 1, got
        store.close()
    return [figure("acd_dispatch_ms_p50", statistics.median(samples), "ms"),
            figure("acd_dispatch_ms_p95", percentile(samples, 95), "ms")]


def run() -> list[dict]:
    return pure_figures() + dispatch_figures()


if __name__ == "__main__":
    import json

    for item in run():
        print(json.dumps(item))
