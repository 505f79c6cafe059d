"""A caller's time in a queue (cc.services.acd_calls) over a scripted channel with a frozen clock:
music, announcements, ringing, no answer, answer, survey, recording, voicemail, call back, hang-ups."""

from __future__ import annotations

import pytest

from cc.services.acd_calls import DialResult, QueueCallFlow
from cc.services.ports import CallerHungUp


class FakeChannel:
    def __init__(self, acd, clock, agents=None, keys=None, hangup_after=None):
        self.acd = acd
        self.clock = clock
        self.agents = agents or {}  # dial string -> "answer" | "agent_hangs_up" | "caller_hangs_up" | "noanswer"
        self.keys = list(keys or [])
        self.hangup_after = hangup_after  # seconds of waiting before the caller hangs up
        self.log = []
        self.waited = 0.0

    def music(self, on):
        self.log.append(("music", on))

    def wait(self, seconds):
        self.clock.advance(seconds)
        for row in self.acd.agents():  # the agents' consoles keep beating
            self.acd.heartbeat(row["user"])
        self.waited += seconds
        if self.hangup_after is not None and self.waited >= self.hangup_after:
            raise CallerHungUp("gone")
        return self.keys.pop(0) if self.keys else ""

    def play(self, prompt, keys=""):
        self.log.append(("play", prompt))
        return ""

    def say_number(self, number):
        self.log.append(("number", number))

    def dial(self, dial, ring_seconds, waiting_id, options=""):
        self.log.append(("dial", dial))
        what = self.agents.get(dial, "noanswer")
        if what == "noanswer":
            self.clock.advance(ring_seconds)
            return DialResult("NOANSWER", True)
        self.acd.answered(waiting_id)  # what the U() subroutine does
        self.clock.advance(30)
        if what == "caller_hangs_up":
            raise CallerHungUp("caller left mid-call")
        return DialResult("ANSWER", True)

    def start_recording(self, name):
        self.log.append(("record", name))
        return f"/rec/{name}.wav"

    def record_message(self, name, max_seconds):
        self.log.append(("voicemail", name))
        return f"/rec/{name}", 4000


def setup(acd, *agents):
    for user, skills in agents:
        acd.set_agent(user, f"Local/{user}@t", skills)
        acd.change_state(user, "login")


def run(acd, ch, call_id="c1", queue="orders", **kw):
    events = []
    flow = QueueCallFlow(acd, poll_seconds=1.0)
    out = flow.run(ch, call_id, queue, "+8613800000001", log=lambda k, d: events.append((k, d)), **kw)
    return out, events


def test_answered_with_survey_and_recording(acd, clock):
    from acd_helpers import QUEUES

    acd.import_queues({"queues": {**QUEUES["queues"], "orders": {"service": "orders", "recording": True, "survey": True}}})
    setup(acd, ("a1", ["orders:5"]))
    ch = FakeChannel(acd, clock, {"Local/a1@t": "agent_hangs_up"}, keys=["4"])
    out, events = run(acd, ch)
    assert (out.result, out.agent) == ("answered", "a1")
    assert acd.store.surveys("a1")[0]["score"] == 4
    assert acd.store.recordings("c1")[0]["file"].startswith("/rec/acd-c1-")
    assert [e["reason"] for e in acd.exits()] == ["answered"]
    assert acd.agent_view("a1")["state"] == "wrap_up"
    assert ("acd_survey", {"agent": "a1", "score": 4}) in events


def test_no_answer_then_another_agent(acd, clock):
    setup(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    clock.advance(1)
    acd.heartbeat("a2")
    ch = FakeChannel(acd, clock, {"Local/a2@t": "agent_hangs_up"})
    out, events = run(acd, ch)
    assert out.agent == "a2"
    assert [d for k, d in ch.log if k == "dial"] == ["Local/a1@t", "Local/a2@t"]
    assert acd.agent_view("a1")["reason"] == "no answer"
    assert acd.store.waiting_rows(("waiting", "ringing", "connected")) == []


def test_position_announcements_while_waiting_then_abandon(acd, clock):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    for i in range(3):
        acd.enter(f"x{i}", "orders")
    ch = FakeChannel(acd, clock, hangup_after=25)
    with pytest.raises(CallerHungUp):
        run(acd, ch)
    assert ("number", 3) in ch.log and ("play", "acd_ahead") in ch.log
    exit_row = acd.exits()[-1]
    assert (exit_row["reason"], exit_row["position"], exit_row["waited_ms"]) == ("abandoned", 3, 25000)


def test_announcement_text(acd, clock):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    acd.enter("x0", "orders")
    ch = FakeChannel(acd, clock, hangup_after=11)
    events = []
    with pytest.raises(CallerHungUp):
        QueueCallFlow(acd).run(ch, "c1", "orders", log=lambda k, d: events.append((k, d)))
    (announce,) = [d for k, d in events if k == "acd_announce"]
    assert announce["text"] == "您前面还有1位，预计等待约6分钟"  # 2 callers x 180 s / 1 agent


def test_max_wait_callback_keeps_the_place(acd, clock):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    ch = FakeChannel(acd, clock)
    out, _ = run(acd, ch)
    assert out.result == "callback"
    (row,) = acd.store.waiting_rows(("callback",))
    assert row["call_id"] == "c1"
    assert acd.exits()[-1]["reason"] == "callback" and acd.exits()[-1]["waited_ms"] >= 120_000


def test_no_agents_voicemail_and_blocked(acd, clock):
    stored = []
    out, _ = run(acd, FakeChannel(acd, clock), voicemail=lambda f, d: stored.append((f, d)))
    assert out.result == "no_agents" and stored == [("/rec/acd-vm-c1", 4000)]
    out, _ = run(acd, FakeChannel(acd, clock), call_id="c2", blacklisted=True)
    assert out.result == "blocked"


def test_caller_hangs_up_mid_conversation(acd, clock):
    setup(acd, ("a1", ["orders:5"]))
    ch = FakeChannel(acd, clock, {"Local/a1@t": "caller_hangs_up"})
    with pytest.raises(CallerHungUp):
        run(acd, ch)
    assert [e["reason"] for e in acd.exits()] == ["answered"]
    assert acd.agent_view("a1")["state"] == "wrap_up"
    assert acd.store.surveys() == []


def test_hang_up_while_agent_rings_frees_agent(acd, clock):
    setup(acd, ("a1", ["orders:5"]))

    class HangsUpRinging(FakeChannel):
        def dial(self, dial, ring_seconds, waiting_id, options=""):
            raise CallerHungUp("gone while ringing")

    with pytest.raises(CallerHungUp):
        run(acd, HangsUpRinging(acd, clock))
    assert acd.agent_view("a1")["state"] == "ready"
    assert acd.exits()[-1]["reason"] == "abandoned"


def test_max_wait_moves_the_caller_to_the_overflow_queue(acd, clock):
    acd.import_queues({"queues": {
        "orders": {"service": "orders", "overflow": {"max_wait_seconds": 20, "then": "queue", "queue": "changes"}},
        "changes": {"service": "changes"},
    }})
    setup(acd, ("a1", ["orders:5"]), ("a2", ["changes:5"]))
    acd.change_state("a1", "pause", "busy")
    ch = FakeChannel(acd, clock, {"Local/a2@t": "agent_hangs_up"})
    out, events = run(acd, ch)
    assert (out.result, out.agent) == ("answered", "a2")
    assert [(e["queue"], e["reason"]) for e in acd.exits()] == [("orders", "overflowed"), ("changes", "answered")]
    assert ("acd_overflow", {"from": "orders", "to": "changes"}) in events
