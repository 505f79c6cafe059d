"""The ACD through the real Asterisk: callers reach the FastAGI server through the IVR's queue node, wait
with position announcements, and are connected to agents that are Local channels answering (or not) in
a test context. Checked in the database: exits with reasons, agents' states and events, survey scores,
recording rows and files."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from acd_helpers import START, make_db

from cc.config import Config
from cc.telephony import asterisk_runtime as rt
from cc.telephony.acd_wiring import acd_service
from cc.telephony.queue_handler import render_acd_contexts
from cc.telephony.server import make_server
from cc.store.calls import connect

pytestmark = pytest.mark.asterisk

TREE = """
name: acd test
language: zh
start: q
prompts: {}
nodes:
  q: {kind: queue, queue: orders}
"""

QUEUES = """
queues:
  orders:
    service: orders
    strategy: {strategy}
    ring_seconds: 3
    wrap_up_seconds: 1
    recording: true
    survey: true
    announce: {{every_seconds: 2, position: true, expected_wait: true}}
    overflow: {{after_seconds: {overflow}, backup_skills: [changes]}}
    no_agents: wait
"""


def dialplan(port: int) -> str:
    return f"""
[cc-test-acd]
exten => 100,1,AGI(agi://127.0.0.1:{port}/inbound)
 same => n,Hangup()

[cc-test-acd-caller]
; a caller who stays on the line and presses 4 every 1.5 s (ignored while waiting; the survey takes it)
exten => s,1,Answer()
 same => n,Wait(1)
 same => n(loop),SendDTMF(4)
 same => n,Wait(1.5)
 same => n,Goto(loop)
exten => h,1,UserEvent(CcCallerDone,Tag: ${{CC_CALL_TAG}})

[cc-test-agent]
; Local/NNNN@cc-test-agent is an agent's phone: answers, talks 2 s, hangs up first; 99NN never answers
exten => _X.,1,UserEvent(CcAgentRang,Agent: ${{EXTEN}})
 same => n,GotoIf($["${{EXTEN:0:2}}" = "99"]?never)
 same => n,Answer()
 same => n,Wait(2)
 same => n,Hangup()
 same => n(never),Wait(60)
"""


@dataclass
class Center:
    config: Config
    acd: object
    server: object
    asterisk: object
    rec_host: Path

    def call(self, number: str) -> str:
        return self.asterisk.originate("Local/s@cc-test-acd-caller", context="cc-test-acd", exten="100",
                                       caller_id=number, timeout=30)

    def q(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.acd.store.conn.execute(sql, params).fetchall()

    def wait(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = predicate()
            if got:
                return got
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def exits(self) -> list[dict]:
        return self.acd.exits(limit=1000)

    def events(self, kind: str) -> list[tuple]:
        self.server.runtime.writer.flush(10)
        return self.q("SELECT c.caller, e.detail FROM call_events e JOIN calls c ON c.id = e.call_id WHERE e.kind = ?"
                      " ORDER BY e.id", (kind,))


@pytest.fixture
def center(asterisk, tmp_path, request):
    strategy, overflow = getattr(request, "param", ("longest_idle", 0))
    db = tmp_path / "cc.db"
    make_db(db, users=["a1", "a2", "a3", "nobody", "stale", "backup"])
    conn = connect(str(db))
    for phone, tag in (("+8613900000001", "vip"), ("+8613900000002", "blacklist")):
        cur = conn.execute("INSERT INTO customers (phone, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                           (phone, tag, START, START))
        conn.execute("INSERT INTO customer_tags (customer_id, tag) VALUES (?, ?)", (cur.lastrowid, tag))
    conn.close()
    (tmp_path / "tree.yaml").write_text(TREE, encoding="utf-8")
    (tmp_path / "queues.yaml").write_text(QUEUES.format(strategy=strategy, overflow=overflow), encoding="utf-8")
    rec_chroot = f"{asterisk.base}/spool/acd-{secrets.token_hex(4)}"
    rec_host = asterisk.host_path(rec_chroot)
    rec_host.mkdir(parents=True)
    port = rt.free_port()
    config = Config(db=str(db))
    config.agi.host, config.agi.port = "127.0.0.1", port
    config.ivr.tree = str(tmp_path / "tree.yaml")
    config.ivr.voicemail_dir, config.ivr.asterisk_recordings_dir = str(rec_host), rec_chroot
    config.acd.queues = str(tmp_path / "queues.yaml")
    config.acd.recordings_dir, config.acd.asterisk_recordings_dir = str(rec_host), rec_chroot
    config.acd.poll_seconds = 0.3
    config.acd.heartbeat_stale_seconds = 60
    config.acd.enabled = True
    config.locale = "zh_CN"
    asterisk.write_extensions(rt.GENERAL + dialplan(port) + render_acd_contexts() + rt.CALLER_CONTEXTS)
    server = make_server(config, "127.0.0.1", port)
    server.start()
    acd = acd_service(config, connect(str(db)))
    try:
        yield Center(config, acd, server, asterisk, rec_host)
    finally:
        server.stop(drain_seconds=10)
        acd.store.close()
        asterisk.wait_idle(timeout=20)


def agent(center: Center, user: str, ext: str, skills: list[str], state: str = "ready") -> None:
    center.acd.set_agent(user, f"Local/{ext}@cc-test-agent", skills)
    center.acd.change_state(user, "login")
    if state == "paused":
        center.acd.change_state(user, "pause", "test")


def test_callers_answered_in_order_vip_overtakes_with_announcements_survey_and_recording(center):
    agent(center, "a1", "1001", ["orders:5"], state="paused")
    center.call("+8613800000011")
    center.wait(lambda: center.q("SELECT count(*) FROM acd_waiting")[0][0] == 1, what="caller 1 in the queue")
    center.call("+8613800000012")
    center.wait(lambda: center.q("SELECT count(*) FROM acd_waiting")[0][0] == 2, what="caller 2 in the queue")
    center.call("+8613900000001")  # VIP
    center.wait(lambda: center.q("SELECT count(*) FROM acd_waiting")[0][0] == 3, what="the VIP in the queue")
    center.wait(lambda: len(center.events("acd_announce")) >= 3, timeout=15, what="position announcements")
    center.acd.change_state("a1", "ready")
    center.wait(lambda: len([e for e in center.exits() if e["reason"] == "answered"]) == 3, timeout=60,
                what="three answered calls")
    answered = [e["caller"] for e in center.exits() if e["reason"] == "answered"]
    assert answered == ["+8613900000001", "+8613800000011", "+8613800000012"]
    import json

    texts = [json.loads(detail)["text"] for caller, detail in center.events("acd_announce") if caller == "+8613800000012"]
    assert any(t.startswith(("您前面还有1位", "您前面还有2位")) for t in texts), texts
    center.wait(lambda: len(center.acd.store.surveys("a1")) == 3, timeout=15, what="survey scores")
    assert {s["score"] for s in center.acd.store.surveys("a1")} == {4}
    recordings = center.q("SELECT file FROM acd_recordings")
    assert len(recordings) == 3
    for (file,) in recordings:
        host = center.asterisk.host_path(file)
        center.wait(lambda: host.exists() and host.stat().st_size >= 44, timeout=10, what=f"recording {file}")
        assert host.read_bytes()[:4] == b"RIFF"
    states = [r[0] for r in center.q("SELECT state FROM acd_agent_events WHERE user = 'a1' ORDER BY id")]
    assert states.count("on_call") == 3 and states.count("ringing") == 3


@pytest.mark.parametrize("center", [("longest_idle", 4)], indirect=True)
def test_no_answer_pauses_agent_stale_skipped_overflow_to_backup(center):
    agent(center, "nobody", "9901", ["orders:5"])  # longest idle: rung first, never answers
    time.sleep(0.05)
    agent(center, "stale", "1002", ["orders:9"])
    center.q("UPDATE acd_agents SET heartbeat_at = '2026-01-01T00:00:00.000+00:00' WHERE user = 'stale'")
    center.acd.store.conn.commit() if center.acd.store.conn.in_transaction else None
    agent(center, "backup", "1003", ["changes:6"])
    started = time.monotonic()
    center.call("+8613800000021")
    center.wait(lambda: [e for e in center.exits() if e["reason"] == "answered"], timeout=40, what="the answer")
    (answered,) = [e for e in center.exits() if e["reason"] == "answered"]
    assert answered["agent"] == "backup" and answered["detail"] == "backup" and answered["waited_ms"] >= 4000
    nobody = center.acd.agent_view("nobody")
    assert (nobody["state"], nobody["reason"]) == ("paused", "no answer")
    assert center.q("SELECT count(*) FROM acd_agent_events WHERE user = 'stale' AND state = 'ringing'")[0][0] == 0
    assert time.monotonic() - started < 40


@pytest.mark.parametrize("center", [("highest_skill", 0)], indirect=True)
def test_highest_skill_picks_the_expected_agent_and_blacklisted_never_enters(center):
    agent(center, "a1", "1001", ["orders:3"])
    agent(center, "a2", "1002", ["orders:9"])
    agent(center, "a3", "1003", ["orders:6"])
    center.call("+8613900000002")  # blacklisted
    center.call("+8613800000031")
    center.wait(lambda: [e for e in center.exits() if e["reason"] == "answered"], timeout=30, what="the answer")
    assert [e["agent"] for e in center.exits() if e["reason"] == "answered"] == ["a2"]
    center.server.runtime.writer.flush(10)
    center.wait(lambda: center.q("SELECT result FROM calls WHERE caller = '+8613900000002' AND result IS NOT NULL"),
                timeout=15, what="the blacklisted call's end")
    assert center.q("SELECT result FROM calls WHERE caller = '+8613900000002'")[0][0] == "refused"
    assert center.q("SELECT count(*) FROM acd_exits WHERE caller = '+8613900000002' AND reason != 'blocked'")[0][0] == 0


def test_call_sent_straight_into_a_queue(center):
    """What a transfer to queue:orders does (cc-control's AGI(agi://.../acd_queue?queue=orders))."""
    agent(center, "a1", "1001", ["orders:5"])
    port = center.config.agi.port
    center.asterisk.write_extensions(
        rt.GENERAL + dialplan(port) + render_acd_contexts() + rt.CALLER_CONTEXTS
        + f"\n[cc-test-acd-xfer]\nexten => 200,1,Answer()\n same => n,AGI(agi://127.0.0.1:{port}/acd_queue?queue=orders)\n"
        " same => n,Hangup()\n")
    center.asterisk.originate("Local/s@cc-test-acd-caller", context="cc-test-acd-xfer", exten="200",
                              caller_id="+8613800000041", timeout=30)
    center.wait(lambda: [e for e in center.exits() if e["reason"] == "answered"], timeout=30, what="the answer")
    (answered,) = center.exits()
    assert (answered["caller"], answered["agent"]) == ("+8613800000041", "a1")
    center.server.runtime.writer.flush(10)
    center.wait(lambda: center.q("SELECT result FROM calls WHERE script = 'acd_queue' AND result IS NOT NULL"),
                timeout=20, what="the call record's end")
    assert center.q("SELECT result FROM calls WHERE script = 'acd_queue'")[0][0] == "answered"
