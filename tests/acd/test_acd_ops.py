"""Supervisor operations on the ACD (issue 7's actions): force an agent's state, the expert seat, move a
waiting caller to another queue, send one to voicemail; the handler holding the caller notices at its
next poll (scripted channel); the CLI's commands and clean errors."""

from __future__ import annotations

import json

import pytest
from acd_helpers import START
from test_acd_flow import FakeChannel, run, setup

from cc.errors import NotFound, PermissionDenied, Refused, UsageError


def add_user(acd, name, role):
    acd.store.conn.execute(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)",
        (name, role, START, START))


@pytest.fixture
def sup(acd):
    add_user(acd, "sue", "supervisor")
    return "sue"


def test_force_state_records_the_supervisor(acd, sup, clock):
    setup(acd, ("a1", ["orders:5"]))
    assert acd.force_state("a1", "pause", "coaching", by=sup)["state"] == "paused"
    assert acd.force_state("a1", "ready", by=sup)["state"] == "ready"
    assert acd.force_state("a1", "sign-out", by=sup)["state"] == "offline"
    events = acd.agent_events("a1")
    assert [(e["state"], e["reason"], e["by_user"]) for e in events[:3]] == [
        ("offline", "", "sue"), ("ready", "", "sue"), ("paused", "coaching", "sue")]
    assert events[3]["by_user"] == ""  # the agent's own login
    assert [a["action"] for a in acd.actions(agent="a1")] == ["force_logout", "force_ready", "force_pause"]
    with pytest.raises(Refused, match="only the agent can log in"):
        acd.force_state("a1", "ready", by=sup)


def test_force_state_permissions_and_rules(acd, sup):
    setup(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    with pytest.raises(PermissionDenied):
        acd.force_state("a1", "pause", "x", by="a2")  # an agent may not force a colleague
    with pytest.raises(UsageError, match="which supervisor"):
        acd.force_state("a1", "ready")  # nobody named
    with pytest.raises(UsageError, match="reason"):
        acd.force_state("a1", "pause", by=sup)
    with pytest.raises(Refused, match="use ready, pause or logout"):
        acd.force_state("a1", "away", by=sup)
    with pytest.raises(NotFound):
        acd.force_state("a1", "ready", by="ghost")
    acd.acting_user = sup  # the acting user is the supervisor when by is not given
    assert acd.force_state("a1", "pause", "meeting")["state"] == "paused"


def test_forced_sign_out_clears_an_agent_on_a_call(acd, sup, clock):
    setup(acd, ("a1", ["orders:5"]))
    wid = acd.enter("c1", "orders").waiting_id
    acd.dispatch()
    with pytest.raises(Refused, match="ringing"):
        acd.force_state("a1", "logout", by=sup)
    acd.answered(wid)
    assert acd.force_state("a1", "logout", by=sup)["state"] == "offline"
    acd.finished(wid)  # the conversation's end no longer moves the agent
    assert acd.agent_view("a1")["state"] == "offline"


def test_expert_seat(acd, sup):
    setup(acd, ("a1", ["orders:5"]))
    acd.set_agent("a1", "Local/a1@t", ["orders:5"], group="day")
    view = acd.assign_expert("a1", by=sup)
    assert (view["group"], view["expert"], view["home_group"]) == ("expert", True, "day")
    assert acd.assign_expert("a1", by=sup)["group"] == "expert"  # twice: no change, no second event
    view = acd.assign_expert("a1", on=False, by=sup)
    assert (view["group"], view["expert"], view["home_group"]) == ("day", False, None)
    assert [(a["action"], a["by_user"], a["detail"]) for a in acd.actions(agent="a1")] == [
        ("expert_off", "sue", "group expert -> day"), ("expert_on", "sue", "group day -> expert")]
    with pytest.raises(PermissionDenied):
        acd.assign_expert("a1", by="a1")


def test_expert_seat_is_what_call_control_rings(acd):
    from cc.services.call_control import CallControlService
    from cc.store.call_control import CallControlStore

    setup(acd, ("a1", ["orders:5"]), ("a2", ["orders:5"]))
    acd.assign_expert("a2")  # the site operator (no acting user)
    control = CallControlService(None, CallControlStore(acd.store.conn), acd.clock)
    assert control.target("expert") == ("D", "Local/a2@t")


def test_move_waiting_keeps_arrival_and_writes_the_exit(acd, sup, clock):
    setup(acd, ("a2", ["changes:5"]))
    acd.change_state("a2", "pause", "busy")
    early = acd.enter("c1", "orders").waiting_id
    clock.advance(10)
    acd.enter("c2", "changes")
    clock.advance(5)
    row = acd.move_waiting(early, "changes", by=sup)
    assert (row["queue"], row["entered_at"]) == ("changes", "2026-11-26T02:00:00.000+00:00")
    assert acd.poll(early).ahead == 0 and acd.poll(early).queue == "changes"  # arrived first: ahead of c2
    (out,) = acd.exits()
    assert (out["queue"], out["reason"], out["waited_ms"]) == ("orders", "overflowed", 15000)
    assert "moved to 'changes' by sue" in out["detail"]
    with pytest.raises(UsageError, match="already in"):
        acd.move_waiting(early, "changes", by=sup)
    with pytest.raises(NotFound):
        acd.move_waiting(early, "nowhere", by=sup)
    with pytest.raises(NotFound):
        acd.move_waiting(999, "orders", by=sup)
    acd.change_state("a2", "ready")
    assert acd.dispatch() == [(early, "a2")]
    with pytest.raises(Refused, match="ringing"):
        acd.move_waiting(early, "orders", by=sup)


def test_voicemail_divert_is_not_dispatched(acd, sup):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    wid = acd.enter("c1", "orders").waiting_id
    acd.send_to_voicemail(wid, by=sup)
    acd.change_state("a1", "ready")
    assert acd.dispatch() == []
    view = acd.poll(wid)
    assert (view.divert, view.divert_by) == ("voicemail", "sue")
    assert acd.queue_status("orders")[0]["callers"][0]["divert"] == "voicemail"
    with pytest.raises(Refused, match="already"):
        acd.send_to_voicemail(wid, by=sup)
    with pytest.raises(PermissionDenied):
        acd.send_to_voicemail(wid, by="a1")


class Scripted(FakeChannel):
    """A channel on which something happens after ``at`` seconds of waiting (a supervisor acts)."""

    def __init__(self, *args, at=3.0, then=None, **kw):
        super().__init__(*args, **kw)
        self.at, self.then = at, then

    def wait(self, seconds):
        key = super().wait(seconds)
        if self.then and self.waited >= self.at:
            self.then, then = None, self.then
            then()
        return key


def test_handler_notices_voicemail(acd, sup, clock):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    stored = []
    ch = Scripted(acd, clock, then=lambda: acd.send_to_voicemail(acd.store.waiting_rows()[0]["id"], by=sup))
    out, _ = run(acd, ch, voicemail=lambda f, d: stored.append(f))
    assert out.result == "voicemail" and "by sue" in out.reason
    assert stored == ["/rec/acd-vm-c1"] and ("play", "acd_voicemail") in ch.log
    assert [(e["reason"], e["detail"]) for e in acd.exits()] == [("voicemail", "sent to voicemail by sue")]
    assert acd.store.waiting_rows(("waiting", "callback")) == []


def test_handler_notices_a_move(acd, sup, clock):
    setup(acd, ("a1", ["orders:5"]), ("a2", ["changes:5"]))
    acd.change_state("a1", "pause", "busy")
    acd.change_state("a2", "pause", "busy")

    def move():
        acd.move_waiting(acd.store.waiting_rows()[0]["id"], "changes", by=sup)
        acd.change_state("a2", "ready")

    ch = Scripted(acd, clock, {"Local/a2@t": "agent_hangs_up"}, then=move)
    out, events = run(acd, ch)
    assert (out.result, out.agent) == ("answered", "a2")
    assert ("acd_moved", {"from": "orders", "to": "changes"}) in events
    assert [(e["queue"], e["reason"]) for e in acd.exits()] == [("orders", "overflowed"), ("changes", "answered")]


def test_cli_supervisor_commands(acd, sup, db_file, monkeypatch, tmp_path):
    from test_acd_cli import cli

    from acd_helpers import cli_env

    cli_env(monkeypatch, db_file, tmp_path)
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    wid = acd.enter("c1", "orders").waiting_id
    code, _, err = cli("agent", "force", "a1", "ready")
    assert code == 2 and "which supervisor" in err and "Hint:" in err
    assert cli("--user", "a1", "agent", "force", "a1", "ready")[0] == 1  # PermissionDenied
    assert cli("--user", "sue", "agent", "force", "a1", "pause", "coaching")[2] == "a1: paused (coaching)\n"
    assert cli("--user", "sue", "agent", "expert", "a1")[2] == "a1: group expert (expert seat)\n"
    assert cli("--user", "sue", "agent", "expert", "a1", "--off")[2] == "a1: group -\n"
    assert cli("--user", "sue", "queue", "move", str(wid), "changes")[2] == f"caller {wid} moved to changes\n"
    assert cli("--user", "sue", "queue", "voicemail", str(wid))[2] == f"caller {wid} in changes goes to voicemail\n"
    code, _, err = cli("--user", "sue", "queue", "voicemail", "999")
    assert code == 1 and "no caller 999" in err
    code, out, _ = cli("agent", "actions", "--json")
    assert [a["action"] for a in json.loads(out)] == ["voicemail", "move", "expert_off", "expert_on", "force_pause"]
    code, out, _ = cli("agent", "actions")
    assert code == 0 and "force_pause" in out and "sue" in out
