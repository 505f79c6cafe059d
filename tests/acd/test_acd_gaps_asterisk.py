"""The ACD's gaps through the real Asterisk: a blind transfer frees the first agent and the call record
shows it, click-to-dial makes the agent on_call and wraps them up after, a dead handler's agent is
released by the sweep, call backs are made by the ACD."""

from __future__ import annotations

import pytest
from acd_pbx import make_pbx

from cc.clock import SystemClock

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(90)]


@pytest.fixture
def pbx(asterisk, tmp_path):
    pbx, stop = make_pbx(asterisk, tmp_path)
    try:
        yield pbx
    finally:
        stop()
        asterisk.ami.action("Hangup", Channel="/^Local/.*/")
        asterisk.wait_idle(timeout=20)


@pytest.fixture
def control(pbx):
    from cc.services.call_control import CallControlService
    from cc.store.call_control import CallControlStore
    from cc.telephony.acd_control import AcdCallHook
    from cc.telephony.ami import client_from_config
    from cc.telephony.control_dialplan import settings_from_config

    ami = client_from_config(pbx.config.asterisk.ami, events=True, reconnect=False).connect()
    yield CallControlService(ami, CallControlStore(pbx.acd.store.conn), SystemClock(), settings_from_config(pbx.config),
                             actor="sue", acd=AcdCallHook(pbx.acd, pbx.config))
    ami.close()


def test_blind_transfer_frees_the_first_agent(pbx, control):
    pbx.agent("a1", "1001")
    call = pbx.call("+8613800000051")
    pbx.wait(lambda: pbx.state("a1") == "on_call", what="a1 on the call")
    pbx.asterisk.wait_for_event("BridgeEnter", timeout=10)
    control.transfer("a1", "Local/1003@cc-test-xagent")
    pbx.wait(lambda: pbx.state("a1") == "wrap_up", timeout=15, what="a1 wrapping up after the transfer")
    assert pbx.acd.agent_view("a1")["reason"] == "transferred"
    pbx.asterisk.wait_for_event("UserEvent", timeout=10, UserEvent="CcAgentUp", Agent="1003")  # the target talks
    (action,) = [a for a in pbx.acd.actions(agent="a1") if a["action"] == "transfer"]
    assert (action["call_id"], action["by_user"]) == (call, "sue")
    assert action["detail"] == "blind to D:Local/1003@cc-test-xagent"
    pbx.wait(lambda: pbx.q("SELECT result FROM calls WHERE id = ? AND result IS NOT NULL", (call,)),
             timeout=15, what="the call record's end")
    pbx.server.runtime.writer.flush(10)
    (result, reason), = pbx.q("SELECT result, reason FROM calls WHERE id = ?", (call,))
    assert result == "transferred" and "transferred by a1 to D:Local/1003@cc-test-xagent" in reason
    assert pbx.q("SELECT count(*) FROM acd_waiting")[0][0] == 0
    assert [e["reason"] for e in pbx.acd.exits()] == ["answered"]


def test_click_to_dial_makes_the_agent_on_call_then_wrap_up(pbx, control):
    pbx.agent("a1", "1001")
    result = control.dial("a1", "13800138000")
    view = pbx.acd.agent_view("a1")
    assert (view["state"], view["reason"]) == ("on_call", "outbound")
    pbx.asterisk.wait_for_event("UserEvent", timeout=15, UserEvent="CcCustomerUp", Number="8613800138000")
    assert pbx.acd.dispatch() == [] and pbx.state("a1") == "on_call"  # never offered an ACD call meanwhile
    pbx.wait(lambda: pbx.state("a1") == "wrap_up", timeout=20, what="a1 wrapping up after the outbound call")
    events = pbx.acd.agent_events("a1")
    assert [(e["state"], e["call_id"]) for e in events[:2]] == [("wrap_up", result["call"]), ("on_call", result["call"])]
    assert [a["action"] for a in pbx.acd.actions(agent="a1")] == ["dial_end", "dial"]


def test_click_to_dial_refused_while_the_agent_rings_or_talks(pbx, control):
    pbx.agent("a1", "1001")
    pbx.acd.store.conn.execute("UPDATE acd_agents SET state = 'on_call', waiting_id = 7 WHERE user = 'a1'")
    from cc.errors import Refused

    with pytest.raises(Refused, match="on call"):
        control.dial("a1", "13800138000")
