"""Call backs made by the ACD, on a frozen clock with a scripted AMI: the call back keeps its place in
line, the caller-back rings the claimed agent then the customer, outcomes and bounded retries, and a
claim nobody takes (or a caller-back that dies) frees the agent."""

from __future__ import annotations

import pytest
from test_acd_flow import setup

from cc.services.acd_callbacks import CallbackRunner, CallbackSettings


class FakeAmi:
    """Answers Originate; the test plays the events the call would raise."""

    def __init__(self):
        self.sent = []
        self.listeners = []

    def subscribe(self, callback):
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    def action(self, name, fields=None, *, variables=None, timeout=None):
        self.sent.append((name, dict(fields or {}), dict(variables or {})))
        return {"Response": "Success"}

    def emit(self, **event):
        for listener in self.listeners:
            listener(event)


@pytest.fixture
def cb(acd):
    acd.settings.callbacks = True
    acd.settings.callback_max_attempts = 2
    acd.settings.callback_retry_seconds = 60
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "busy")
    wid = acd.enter("c1", "orders", "+8613800000001").waiting_id
    acd.leave(wid, "callback", "asked for a call back")
    ami = FakeAmi()
    runner = CallbackRunner(acd, ami, CallbackSettings(outbound_dial="PJSIP/{digits}@trunk", caller_id="116114"))
    yield acd, ami, runner, wid
    runner.close()


def test_the_call_back_keeps_its_place_and_gets_the_agent_first(cb, clock):
    acd, ami, runner, wid = cb
    clock.advance(5)
    later = acd.enter("c2", "orders", "+8613800000002").waiting_id
    assert acd.poll(later).ahead == 1  # the call back is ahead of them
    acd.change_state("a1", "ready")
    assert acd.dispatch() == [(wid, "a1")]
    assert acd.agent_view("a1")["state"] == "ringing" and acd.poll(later).status == "waiting"
    (row,) = acd.take_callbacks()
    assert (row["id"], row["agent_dial"], row["cb_attempts"]) == (wid, "Local/a1@t", 1)


def test_agent_rung_first_then_customer_answered(cb):
    acd, ami, runner, wid = cb
    acd.change_state("a1", "ready")
    assert [r["id"] for r in runner.start_due()] == [wid]
    ((name, fields, variables),) = ami.sent
    assert (name, fields["Channel"], fields["Exten"], fields["ChannelId"]) == ("Originate", "Local/a1@t", "connect", f"cc-cb-{wid}-1")
    assert variables["CC_TARGET"] == "PJSIP/8613800000001@trunk" and variables["CC_AGENT"] == "a1"
    channel = fields["ChannelId"]
    ami.emit(Event="OriginateResponse", Uniqueid=channel, Response="Success")
    runner.pump(0.05)
    assert acd.agent_view("a1")["state"] == "on_call"
    ami.emit(Event="DialEnd", Uniqueid=channel, DialStatus="ANSWER")
    ami.emit(Event="Hangup", Uniqueid=channel)
    runner.pump(0.05)
    assert [(r["outcome"], r["status"]) for r in runner.results] == [("answered", "done")]
    assert acd.callbacks() == [] and acd.agent_view("a1")["state"] == "wrap_up"


def test_agent_not_answering_keeps_the_turn_and_is_paused(cb):
    acd, ami, runner, wid = cb
    acd.change_state("a1", "ready")
    runner.start_due()
    ami.emit(Event="OriginateResponse", Uniqueid=f"cc-cb-{wid}-1", Response="Failure", Reason="3")
    runner.pump(0.05)
    assert runner.results[0]["outcome"] == "agent_no_answer"
    assert (acd.agent_view("a1")["state"], acd.agent_view("a1")["reason"]) == ("paused", "no answer")
    (row,) = acd.callbacks()
    assert (row["agent"], row["cb_attempts"], row["cb_next_at"]) == (None, 0, None)  # not counted, due at once


def test_customer_not_answering_is_retried_later_then_given_up(cb, clock):
    acd, ami, runner, wid = cb
    for attempt, status in ((1, "retry"), (2, "failed")):
        acd.release_wrap_ups()
        acd.store.conn.execute("UPDATE acd_agents SET state = 'ready', wrap_until = NULL WHERE user = 'a1'")
        acd.heartbeat("a1")
        runner.results = []
        runner.start_due()
        channel = f"cc-cb-{wid}-{attempt}"
        ami.emit(Event="OriginateResponse", Uniqueid=channel, Response="Success")
        ami.emit(Event="DialEnd", Uniqueid=channel, DialStatus="NOANSWER")
        runner.pump(0.05)
        assert [(r["outcome"], r["status"], r["attempts"]) for r in runner.results] == [("no_answer", status, attempt)]
        if status == "retry":
            acd.store.conn.execute("UPDATE acd_agents SET state = 'ready', wrap_until = NULL WHERE user = 'a1'")
            assert runner.start_due() == []  # not before the retry time
            clock.advance(61)
    assert acd.callbacks() == []


def test_a_claim_nobody_takes_frees_the_agent(cb, clock):
    acd, ami, runner, wid = cb
    acd.settings.handler_lease = 30
    acd.change_state("a1", "ready")
    assert acd.dispatch() == [(wid, "a1")]  # claimed, but no caller-back runs
    clock.advance(31)
    acd.heartbeat("a1")
    acd.expire_gone()
    assert acd.agent_view("a1")["state"] == "ready"
    (row,) = acd.callbacks()
    assert row["agent"] is None
    assert [(a["action"], a["outcome"]) for a in acd.actions(agent="a1")] == [("callback", "lost")]


def test_callbacks_off_are_never_dispatched(acd):
    setup(acd, ("a1", ["orders:5"]))
    wid = acd.enter("c1", "orders").waiting_id
    acd.change_state("a1", "pause", "x")
    acd.leave(wid, "callback")
    acd.change_state("a1", "ready")
    assert acd.dispatch() == []


def test_cli_callbacks_status_and_runner_needs_the_setting(acd, db_file, monkeypatch, tmp_path):
    import json

    from test_acd_cli import cli

    from acd_helpers import cli_env

    cli_env(monkeypatch, db_file, tmp_path)
    setup(acd, ("a1", ["orders:5"]))
    wid = acd.enter("c1", "orders", "+8613800000001").waiting_id
    acd.leave(wid, "callback")
    code, out, _ = cli("queue", "callbacks", "--json")
    (row,) = json.loads(out)
    assert (row["id"], row["callback_status"], row["cb_attempts"]) == (wid, "waiting", 0)
    code, out, _ = cli("queue", "callbacks")
    assert code == 0 and "waiting" in out and "attempts" in out
    code, _, err = cli("queue", "callback-run", "--once")
    assert code == 2 and "acd.callbacks is false" in err and "Hint:" in err
