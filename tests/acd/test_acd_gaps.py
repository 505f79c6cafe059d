"""The ACD's follow-ups as use cases on a frozen clock: transfers free the agent, the agent's leg hanging
up wraps them up (never their next call), click-to-dial makes the agent on_call, a handler lost
mid-conversation has its agent released by the sweep."""

from __future__ import annotations

import pytest
from test_acd_flow import FakeChannel, run, setup

from cc.errors import Refused
from cc.services.acd_calls import DialResult
from cc.services.ports import CallerHungUp


def talking(acd, user="a1", call="c1"):
    setup(acd, (user, ["orders:5"]))
    wid = acd.enter(call, "orders").waiting_id
    assert acd.dispatch() == [(wid, user)]
    acd.answered(wid)
    return wid


def test_blind_transfer_frees_the_agent_and_a_late_finish_changes_nothing(acd, clock):
    wid = talking(acd)
    acd.transferring("c1", "D:PJSIP/1002", "a1", by="sue")
    assert acd.transferred("c1", "a1", "D:PJSIP/1002", by="sue") == {"waiting_id": wid, "agent": "a1", "released": True}
    view = acd.agent_view("a1")
    assert (view["state"], view["reason"]) == ("wrap_up", "transferred")
    clock.advance(11)
    acd.release_wrap_ups()
    w2 = acd.enter("c2", "orders").waiting_id
    acd.dispatch()
    acd.answered(w2)
    acd.finished(wid)  # the first caller's handler ends late: a1's new call is untouched
    assert acd.agent_view("a1")["state"] == "on_call" and acd.agent_view("a1")["waiting_id"] == w2
    (action,) = acd.actions(agent="a1")
    assert (action["action"], action["by_user"], action["detail"]) == ("transfer", "sue", "blind to D:PJSIP/1002")


def test_attended_transfer_frees_the_agent_when_their_leg_hangs_up(acd):
    wid = talking(acd)
    acd.transferring("c1", "D:PJSIP/1002", "a1", attended=True)
    assert acd.transferred("c1", "a1", "D:PJSIP/1002", attended=True)["released"] is False
    assert acd.agent_view("a1")["state"] == "on_call"  # consulting the target
    assert acd.agent_gone(wid) == "a1"
    assert (acd.agent_view("a1")["state"], acd.agent_view("a1")["reason"]) == ("wrap_up", "transferred")
    assert acd.poll(wid).status == "connected"  # the caller talks on; the handler ends the row
    assert acd.agent_gone(wid) is None  # twice: nothing more
    assert [a["detail"] for a in acd.actions(agent="a1")] == ["attended to D:PJSIP/1002"]


def test_failed_transfer_clears_the_mark(acd):
    wid = talking(acd)
    acd.transferring("c1", "D:PJSIP/1002", "a1")
    acd.transferring("c1", None)
    assert acd.poll(wid).divert is None and acd.agent_view("a1")["state"] == "on_call"
    assert [(a["outcome"], a["detail"]) for a in acd.actions(agent="a1")] == [
        ("failed", "to D:PJSIP/1002"), ("ok", "blind to D:PJSIP/1002")]


def test_transfer_of_a_call_that_is_not_the_acds(acd):
    setup(acd, ("a1", ["orders:5"]))
    assert acd.transferring("elsewhere", "D:x") is False
    assert acd.transferred("elsewhere", "a1", "D:x") is None
    assert acd.agent_view("a1")["state"] == "ready"


def test_handler_records_a_transfer(acd, clock):
    setup(acd, ("a1", ["orders:5"]))

    class Transferred(FakeChannel):
        def dial(self, dial, ring_seconds, waiting_id, options=""):
            self.acd.answered(waiting_id)
            self.acd.transferring("c1", "Q:complaints")
            self.acd.transferred("c1", "a1", "Q:complaints")
            raise CallerHungUp("redirected")

    events = []
    with pytest.raises(CallerHungUp, match="transferred by a1 to Q:complaints"):
        from cc.services.acd_calls import QueueCallFlow

        QueueCallFlow(acd).run(Transferred(acd, clock), "c1", "orders", log=lambda k, d: events.append((k, d)))
    assert ("acd_transfer", {"agent": "a1", "to": "Q:complaints"}) in events
    assert acd.store.waiting_rows(("waiting", "ringing", "connected")) == []


def test_handler_records_an_attended_transfer_when_dial_returns(acd, clock):
    setup(acd, ("a1", ["orders:5"]))

    class Consulted(FakeChannel):
        def dial(self, dial, ring_seconds, waiting_id, options=""):
            self.acd.answered(waiting_id)
            self.acd.transferring("c1", "D:PJSIP/1002")
            self.acd.transferred("c1", "a1", "D:PJSIP/1002", attended=True)
            self.acd.agent_gone(waiting_id)  # a1 hangs up: the transfer completes
            return DialResult("ANSWER", True)

    out, _ = run(acd, Consulted(acd, clock))
    assert out.result == "transferred" and "transferred to D:PJSIP/1002" in out.reason
    assert acd.agent_view("a1")["state"] == "wrap_up"


def test_click_to_dial_on_call_then_wrap_up(acd, clock):
    setup(acd, ("a1", ["orders:5"]))
    acd.change_state("a1", "pause", "admin")
    assert acd.dialing("a1", "cc-dial-1") is True
    assert (acd.agent_view("a1")["state"], acd.agent_view("a1")["reason"]) == ("on_call", "outbound")
    acd.enter("c1", "orders")
    assert acd.dispatch() == []
    with pytest.raises(Refused, match="on call"):
        acd.dialing("a1", "cc-dial-2")
    acd.settings.handler_lease = 30
    clock.advance(600)
    acd.heartbeat("a1")
    acd.expire_gone()  # an outbound call has no waiting row: not an orphan
    assert acd.agent_view("a1")["state"] == "on_call"
    assert acd.agent_gone(user="a1", call_id="cc-dial-1") == "a1"
    assert acd.agent_view("a1")["state"] == "wrap_up"
    acd.change_state("a1", "logout")
    assert acd.dialing("a1", "cc-dial-3") is False  # offline: not the ACD's business


def test_sweep_releases_the_agent_of_a_lost_handler(acd, clock):
    acd.settings.handler_lease = 30
    wid = talking(acd)
    clock.advance(20)
    acd.store.touch(wid, "2026-11-26T02:00:20.000+00:00")  # the keep-alive beats during the conversation
    clock.advance(20)
    assert acd.expire_gone() == []
    clock.advance(31)  # then nothing: the handler died
    (gone,) = acd.expire_gone()
    assert gone["id"] == wid
    view = acd.agent_view("a1")
    assert (view["state"], view["reason"]) == ("wrap_up", "handler lost")
    (action,) = acd.actions(agent="a1")
    assert action["action"] == "release" and "no sign of life" in action["detail"]
    assert [e["reason"] for e in acd.exits()] == ["answered"]
    assert acd.store.waiting_rows(("waiting", "ringing", "connected")) == []


def test_call_control_dial_refused_while_the_agent_talks(acd, db_file):
    from cc.config import Config
    from cc.services.call_control import CallControlService
    from cc.store.call_control import CallControlStore
    from cc.telephony.acd_control import AcdCallHook

    talking(acd)
    control = CallControlService(None, CallControlStore(acd.store.conn), acd.clock,
                                 acd=AcdCallHook(acd, Config(db=str(db_file))))
    with pytest.raises(Refused, match="on call"):
        control.dial("a1", "13800138000")  # refused before Asterisk is asked anything
