"""ACD use cases on a real SQLite file with a frozen clock: agents and states, entering the queue,
dispatching in order, no answer, answer and wrap-up, overflow, stale heartbeats, exits with reasons."""

from __future__ import annotations

import pytest

from cc.errors import NotFound, Refused, UsageError


def agents(acd, *specs, login=True):
    """specs: (user, ["orders:5", ...])"""
    for user, skills in specs:
        acd.set_agent(user, f"Local/{user}@agents", skills, group="g1")
        if login:
            acd.change_state(user, "login")


def test_set_agent_and_list(acd, clock):
    view = acd.set_agent("a1", "PJSIP/1001", ["orders:7", "changes:3"], group="day")
    assert view["state"] == "offline" and view["skills"] == {"changes": 3, "orders": 7} and view["group"] == "day"
    acd.set_agent("a1", "PJSIP/1002", ["orders:9"])  # change keeps the state, replaces the skills
    assert acd.agent_view("a1")["skills"] == {"orders": 9}
    acd.change_state("a1", "login")
    clock.advance(42)
    (row,) = acd.agents()
    assert row["state"] == "ready" and row["seconds_in_state"] == 42 and row["dial"] == "PJSIP/1002"


@pytest.mark.parametrize(
    "user, dial, skills, error",
    [
        ("nobody", "PJSIP/1", ["orders:5"], NotFound),
        ("boss", "PJSIP/1", ["orders:5"], Refused),  # an admin is not an agent
        ("a1", "1001", ["orders:5"], UsageError),
        ("a1", "PJSIP/1,r", ["orders:5"], UsageError),
        ("a1", "PJSIP/1", ["orders:11"], UsageError),
        ("a1", "PJSIP/1", [], UsageError),
    ],
)
def test_set_agent_refusals(acd, user, dial, skills, error):
    with pytest.raises(error):
        acd.set_agent(user, dial, skills)


def test_state_commands_and_events(acd, clock):
    agents(acd, ("a1", ["orders:5"]), login=False)
    with pytest.raises(Refused, match="log in first"):
        acd.change_state("a1", "ready")
    for command, reason, state in [("login", "", "ready"), ("pause", "lunch", "paused"), ("away", "", "away"),
                                   ("ready", "", "ready"), ("logout", "", "offline")]:
        clock.advance(1)
        view = acd.change_state("a1", command, reason)
        assert view["state"] == state
    assert acd.agent_view("a1")["reason"] == ""
    events = acd.agent_events("a1")
    assert [e["state"] for e in reversed(events)] == ["ready", "paused", "away", "ready", "offline"]
    assert events[-2]["reason"] == "lunch"
    with pytest.raises(UsageError):
        acd.change_state("a1", "pause", " ")
    with pytest.raises(NotFound):
        acd.change_state("a3", "login")


def test_callers_answered_in_order_and_vip_overtakes(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    w1 = acd.enter("c1", "orders", "+8613800000001").waiting_id
    clock.advance(1)
    w2 = acd.enter("c2", "orders", "+8613800000002").waiting_id
    clock.advance(1)
    w3 = acd.enter("c3", "orders", "+8613800000003", vip=True).waiting_id
    assert [acd.poll(w).ahead for w in (w1, w2, w3)] == [1, 2, 0]
    assert acd.dispatch() == [(w3, "a1")]
    assert acd.poll(w3).status == "ringing" and acd.poll(w3).dial == "Local/a1@agents"
    assert acd.dispatch() == []  # nobody else is ready
    acd.answered(w3)
    assert acd.agent_view("a1")["state"] == "on_call"
    clock.advance(60)
    acd.finished(w3)
    assert acd.agent_view("a1")["state"] == "wrap_up"
    clock.advance(9)
    assert acd.dispatch() == []
    clock.advance(1)
    acd.heartbeat("a1")  # the console keeps beating (70 s since log-in would be stale)
    assert acd.dispatch() == [(w1, "a1")]  # wrap-up over: ready again, next in line
    (answered,) = [e for e in acd.exits() if e["call_id"] == "c3"]
    assert answered["reason"] == "answered" and answered["agent"] == "a1" and answered["waited_ms"] == 0


def test_no_answer_pauses_agent_and_caller_keeps_place(acd, clock):
    agents(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    acd.change_state("a2", "pause", "meeting")
    w1 = acd.enter("c1", "orders").waiting_id
    clock.advance(1)
    w2 = acd.enter("c2", "orders").waiting_id
    assert acd.dispatch() == [(w1, "a1")]
    clock.advance(5)
    acd.not_answered(w1, "NOANSWER")
    a1 = acd.agent_view("a1")
    assert a1["state"] == "paused" and a1["reason"] == "no answer"
    assert acd.poll(w1).status == "waiting" and acd.poll(w1).ahead == 0 and acd.poll(w2).ahead == 1
    acd.change_state("a2", "ready")
    assert acd.dispatch() == [(w1, "a2")]  # the same caller first, with the other agent


@pytest.mark.parametrize(
    "strategy, expected",
    [("longest_idle", "a1"), ("highest_skill", "a3"), ("lowest_skill", "a2")],
)
def test_strategies_pick_the_expected_agent(acd, clock, strategy, expected):
    from acd_helpers import QUEUES

    acd.import_queues({"queues": {**QUEUES["queues"], "orders": {"service": "orders", "strategy": strategy}}})
    agents(acd, ("a1", ["orders:5"]))
    clock.advance(10)
    agents(acd, ("a2", ["orders:2"]))
    clock.advance(10)
    agents(acd, ("a3", ["orders:9"]))
    w = acd.enter("c1", "orders").waiting_id
    assert acd.dispatch() == [(w, expected)]


def test_overflow_to_backup_agent_after_the_configured_time(acd, clock):
    agents(acd, ("a1", ["changes:6"]), ("a2", ["orders:5"]))
    acd.change_state("a2", "pause", "training")  # logged in, so callers are admitted
    w = acd.enter("c1", "orders").waiting_id
    clock.advance(29)
    assert acd.dispatch() == []
    clock.advance(1)
    assert acd.dispatch() == [(w, "a1")]
    assert acd.store.waiting(w)["tier"] == "backup"


def test_stale_heartbeat_agent_is_skipped(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    clock.advance(30)
    agents(acd, ("a2", ["orders:5"]))
    clock.advance(40)  # a1's heartbeat is 70 s old, a2's 40 s
    w = acd.enter("c1", "orders").waiting_id
    assert acd.dispatch() == [(w, "a2")]
    assert [a["heartbeat_fresh"] for a in acd.agents()] == [False, True]
    acd.heartbeat("a1")
    w2 = acd.enter("c2", "orders").waiting_id
    assert acd.dispatch() == [(w2, "a1")]


def test_blacklisted_caller_never_enters(acd):
    agents(acd, ("a1", ["orders:5"]))
    entry = acd.enter("c1", "orders", "+8613800000009", blacklisted=True)
    assert entry.waiting_id is None and entry.refused == "blocked"
    assert acd.store.waiting_rows(("waiting",)) == []
    (exit_row,) = acd.exits()
    assert exit_row["reason"] == "blocked" and exit_row["detail"] == "blacklisted caller"


def test_no_agents_logged_in_follows_the_queue(acd):
    entry = acd.enter("c1", "orders")
    assert (entry.waiting_id, entry.refused, entry.action) == (None, "no_agents", "voicemail")
    assert acd.enter("c2", "complaints").action == "message"
    assert acd.enter("c3", "changes").waiting_id is not None  # changes waits
    assert [e["reason"] for e in acd.exits()] == ["no_agents", "no_agents"]


def test_queue_full(acd):
    agents(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "x")
    for i in range(5):
        assert acd.enter(f"c{i}", "orders").waiting_id
    entry = acd.enter("c9", "orders")
    assert entry.refused == "blocked" and entry.detail == "queue full"


def test_abandoned_exit_keeps_wait_and_position(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "x")
    acd.enter("c1", "orders")
    w2 = acd.enter("c2", "orders").waiting_id
    clock.advance(12.5)
    out = acd.leave(w2, "abandoned", "caller hung up")
    assert out == {"waiting_id": w2, "reason": "abandoned", "waited_ms": 12500, "position": 1}
    assert acd.exits()[-1]["reason"] == "abandoned"


def test_abandon_while_ringing_frees_the_agent(acd):
    agents(acd, ("a1", ["orders:5"]))
    w = acd.enter("c1", "orders").waiting_id
    acd.dispatch()
    acd.leave(w, "abandoned")
    assert acd.agent_view("a1")["state"] == "ready"


def test_callback_keeps_the_place(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "x")
    w1 = acd.enter("c1", "orders").waiting_id
    clock.advance(1)
    w2 = acd.enter("c2", "orders").waiting_id
    acd.leave(w1, "callback")
    assert acd.poll(w1).status == "callback" and acd.poll(w2).ahead == 1
    acd.change_state("a1", "ready")
    assert acd.dispatch() == [(w2, "a1")]  # the call back itself is placed by hand (or later by AMI)
    assert [r["id"] for r in acd.callbacks()] == [w1]
    acd.callback_done(w1)
    assert acd.callbacks() == [] and acd.poll(w1).status == "gone"
    with pytest.raises(NotFound):
        acd.callback_done(w1)


def test_supervisor_priority_change(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "x")
    w1 = acd.enter("c1", "orders").waiting_id
    clock.advance(1)
    w2 = acd.enter("c2", "orders").waiting_id
    acd.set_priority(w2, 50)
    assert acd.poll(w2).ahead == 0 and acd.poll(w1).ahead == 1
    with pytest.raises(NotFound):
        acd.set_priority(999, 1)


def test_poll_expected_wait_and_gone(acd):
    agents(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    for user in ("a1", "a2"):
        acd.change_state(user, "pause", "x")
    ids = [acd.enter(f"c{i}", "orders").waiting_id for i in range(3)]
    view = acd.poll(ids[2])
    assert (view.ahead, view.serving, view.expected_wait) == (2, 2, 270)
    acd.leave(ids[2], "abandoned")
    assert acd.poll(ids[2]).status == "gone"


def test_survey_and_recording_rows(acd):
    assert acd.survey("c1", "a1", "orders", 4)
    assert acd.record("c1", "a1", "orders", "/rec/c1.wav")
    assert acd.store.surveys("a1")[0]["score"] == 4
    with pytest.raises(UsageError):
        acd.survey("c1", "a1", "orders", 6)


def test_queue_status_and_bad_import(acd, clock):
    agents(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "x")
    acd.enter("c1", "orders", "+861")
    (status,) = acd.queue_status("orders")
    assert status["queue"]["name"] == "orders" and status["callers"][0]["ahead"] == 0
    with pytest.raises(UsageError, match="strategy"):
        acd.import_queues({"queues": {"x": {"strategy": "coin"}}}, source="bad.yaml")
    assert set(acd.queues()) == {"orders", "changes", "complaints"}  # nothing changed


def test_roles(acd, db_file, clock):
    from acd_helpers import service

    from cc.errors import PermissionDenied

    agents(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    as_a1 = service(db_file, clock)
    as_a1.acting_user = "a1"
    assert as_a1.change_state("a1", "pause", "lunch")["state"] == "paused"  # their own state
    for action in (lambda: as_a1.change_state("a2", "pause", "x"), lambda: as_a1.set_agent("a1", "PJSIP/9", ["orders:10"]),
                   lambda: as_a1.set_priority(1, 5), lambda: as_a1.import_queues({"queues": {"x": {}}})):
        with pytest.raises(PermissionDenied):
            action()
    as_boss = service(db_file, clock)
    as_boss.acting_user = "boss"
    assert as_boss.change_state("a2", "pause", "x")["state"] == "paused"


def test_callers_of_dead_handlers_are_taken_out_and_agents_freed(acd, clock):
    acd.settings.handler_lease = 30
    agents(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    w_alive = acd.enter("alive", "orders").waiting_id
    w_dead = acd.enter("dead", "orders").waiting_id
    w_ring = acd.enter("ring", "orders").waiting_id
    assert {w for w, _ in acd.dispatch()} == {w_alive, w_dead}  # two agents: the first two callers ring
    acd.not_answered(w_alive)  # the alive caller's handler came back: back in line
    acd.change_state("a1", "ready")  # a1 (longest idle, then by name) had been rung for "alive"
    for _ in range(12):  # 120 s: only the alive caller's handler keeps polling
        clock.advance(10)
        acd.poll(w_alive)
        acd.heartbeat("a1")
        acd.heartbeat("a2")
    gone = {r["call_id"] for r in acd.expire_gone()}
    assert gone == {"dead", "ring"}  # dead: rung far too long; ring: never polled
    assert acd.poll(w_alive).status in ("waiting", "ringing")
    assert all(a["state"] in ("ready", "ringing", "paused") for a in acd.agents())
    reasons = {e["call_id"]: e["reason"] for e in acd.exits()}
    assert reasons == {"dead": "error", "ring": "error"}
