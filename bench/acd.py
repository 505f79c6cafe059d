"""ACD benchmarks.

- ``acd_decision_ms``: one routing decision (order the line, pick the agent for the first call that can be
  served) with 500 agents and 1,000 waiting calls, pure domain (``cc.domain.acd.assignments(limit=1)``);
  target under 1 ms.
- ``acd_choose_agent_ms``: the strategy's pick alone for one caller over 500 agents.
- ``acd_dispatch_ms``: the service's dispatch on a SQLite file (read the line and the ready agents under
  BEGIN IMMEDIATE, decide, claim), with the same 500 agents and 1,000 calls: the whole claim, per call.
- ``acd_load_*``: through the real Asterisk (skipped when it cannot run here: needs root and the chroot
  from scripts/provision-asterisk.sh): 200 callers enter the IVR's queue node within a few seconds, 40
  agents (Local channels that answer, talk 2 s and hang up first) take them; every caller must end
  either answered or with a recorded exit reason. Reports the outcome counts, the wait, and the cc
  server's CPU time and peak memory (the FastAGI server runs in this process).
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


LOAD_TREE = """
name: acd load
language: zh
start: q
prompts: {}
nodes:
  q: {kind: queue, queue: orders}
"""

LOAD_QUEUES = """
queues:
  orders:
    service: orders
    strategy: longest_idle
    ring_seconds: 10
    wrap_up_seconds: 1
    recording: false
    survey: false
    announce: {every_seconds: 10, position: true, expected_wait: true}
    no_agents: wait
"""


def load_dialplan(port: int) -> str:
    return f"""
[bench-acd]
exten => 100,1,AGI(agi://127.0.0.1:{port}/inbound)
 same => n,Hangup()

[bench-acd-caller]
exten => s,1,Answer()
 same => n,Wait(600)
exten => h,1,UserEvent(CcCallerDone,Tag: ${{CC_CALL_TAG}})

[bench-acd-agent]
exten => _X.,1,Answer()
 same => n,Wait(2)
 same => n,Hangup()
"""


def load_run(asterisk, work: Path, callers: int = 200, agents: int = 40, timeout: float = 300.0) -> dict:  # noqa: ANN001
    """Run the load against a started ``AsteriskRuntime``; returns the figures as a plain dict."""
    import os
    import resource
    import threading

    from bench._util import PeakRss

    from cc.clock import SystemClock
    from cc.config import Config
    from cc.store.calls import connect
    from cc.store.db import open_db
    from cc.telephony import asterisk_runtime as rt
    from cc.telephony.acd_wiring import acd_service
    from cc.telephony.queue_handler import render_acd_contexts
    from cc.telephony.server import make_server

    db_path = work / "load.db"
    db = open_db(db_path)
    now = "2026-11-26T02:00:00.000+00:00"
    db.conn.executemany(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, 'agent', 'x', ?, ?)",
        [(f"ag{i:03d}", now, now) for i in range(agents)],
    )
    db.conn.close()
    (work / "tree.yaml").write_text(LOAD_TREE, encoding="utf-8")
    (work / "queues.yaml").write_text(LOAD_QUEUES, encoding="utf-8")
    port = rt.free_port()
    config = Config(db=str(db_path))
    config.agi.host, config.agi.port = "127.0.0.1", port
    config.ivr.tree = str(work / "tree.yaml")
    config.acd.queues = str(work / "queues.yaml")
    config.acd.enabled = True
    config.acd.poll_seconds = 1.0
    config.acd.heartbeat_stale_seconds = 0
    asterisk.write_extensions(rt.GENERAL + load_dialplan(port) + render_acd_contexts())
    acd = acd_service(config, connect(str(db_path)), SystemClock())
    for i in range(agents):
        acd.set_agent(f"ag{i:03d}", f"Local/{1000 + i}@bench-acd-agent", ["orders:5"])
        acd.change_state(f"ag{i:03d}", "login")
    server = make_server(config, "127.0.0.1", port)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    memory = PeakRss(os.getpid(), children=False).start()  # not the Asterisk this process started
    server.start()
    t0 = time.monotonic()
    tags = []
    try:
        mark = asterisk.event_mark()
        for i in range(callers):
            tags.append(asterisk.originate("Local/s@bench-acd-caller", context="bench-acd", exten="100",
                                           caller_id=f"+86138{i:08d}", timeout=60))
            time.sleep(0.02)
        done: set[str] = set()
        index = mark
        deadline = t0 + timeout
        wanted = set(tags)
        while len(done) < callers and time.monotonic() < deadline:
            try:
                found, event = asterisk.ami.next_event(
                    lambda e: e.get("Event") == "UserEvent" and e.get("UserEvent") == "CcCallerDone",
                    timeout=max(0.0, deadline - time.monotonic()), start=index)
            except TimeoutError:
                break
            index = found + 1
            if event.get("Tag") in wanted:
                done.add(event["Tag"])
        elapsed = time.monotonic() - t0
    finally:
        server.stop(drain_seconds=30)
        memory.stop()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    exits = acd.exits(limit=100_000)
    calls = acd.store.conn.execute("SELECT count(*) FROM calls").fetchone()[0]
    left_without_reason = calls - len({e["call_id"] for e in exits})
    waits = [e["waited_ms"] / 1000 for e in exits if e["reason"] == "answered"]
    reasons: dict[str, int] = {}
    for e in exits:
        reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
    acd.store.close()
    asterisk.wait_idle(timeout=30)
    return {
        "callers": callers, "agents": agents, "ended": len(done), "calls": calls, "reasons": reasons,
        "without_reason": left_without_reason, "elapsed_s": elapsed,
        "wait_p50_s": statistics.median(waits) if waits else 0.0, "wait_p95_s": percentile(waits, 95),
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "max_rss_mb": memory.peak / 1024,  # this process (server, AMI client, bench) during the load
    }


def load_figures() -> list[dict]:
    import os

    from cc.errors import CcError
    from cc.telephony import asterisk_runtime as rt

    if os.geteuid() != 0 or not rt.is_provisioned():
        sys.stderr.write("acd: load run skipped (needs root and scripts/provision-asterisk.sh)\n")
        return []
    try:
        with tempfile.TemporaryDirectory() as tmp, rt.running_asterisk(rt.GENERAL) as asterisk:
            r = load_run(asterisk, Path(tmp))
    except CcError as exc:
        sys.stderr.write(f"acd: load run skipped: {exc.message}\n")
        return []
    answered = r["reasons"].get("answered", 0)
    return [
        figure("acd_load_callers_ended", r["ended"], "callers", target=r["callers"]),
        figure("acd_load_answered", answered, "callers"),
        figure("acd_load_without_exit_reason", r["without_reason"], "callers", target=0, higher_is_better=False),
        figure("acd_load_wait_p50", r["wait_p50_s"], "s"),
        figure("acd_load_wait_p95", r["wait_p95_s"], "s"),
        figure("acd_load_elapsed", r["elapsed_s"], "s"),
        figure("acd_load_server_cpu", r["cpu_s"], "s"),
        figure("acd_load_server_max_rss", r["max_rss_mb"], "MB"),
    ]


def run() -> list[dict]:
    return pure_figures() + dispatch_figures() + load_figures()


if __name__ == "__main__":
    import json

    for item in run():
        print(json.dumps(item))
