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
        asterisk.ami.action("Hangup", Channel="/^Local/.*/")  # first: the server's handlers end at once
        stop()
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


def test_a_killed_handler_has_its_agent_released_by_the_sweep(asterisk, tmp_path):
    """The FastAGI server holding the caller is killed (SIGKILL) mid-conversation: the keep-alive stops,
    and the dispatcher's sweep frees the agent, saying why."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from acd_pbx import write_config

    pbx, stop = make_pbx(asterisk, tmp_path, serve=False)
    cfg = write_config(pbx.config, tmp_path / "cc.yaml")
    cc = str(Path(sys.executable).with_name("cc"))
    proc = subprocess.Popen([cc, "--config", str(cfg), "agi", "serve"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "CC_CONFIG": "", "CC_DB": ""})
    try:
        def listening():
            try:
                socket.create_connection(("127.0.0.1", pbx.config.agi.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        pbx.wait(listening, timeout=20, what="the AGI server listening")
        pbx.agent("a1", "1001")
        pbx.call("+8613800000061")
        pbx.wait(lambda: pbx.state("a1") == "on_call", timeout=20, what="a1 on the call")
        proc.kill()
        proc.wait(timeout=10)
        assert pbx.acd.expire_gone() == []  # the lease (3 s) has not run out yet
        pbx.wait(lambda: pbx.acd.expire_gone() or pbx.state("a1") == "wrap_up", timeout=15, what="the sweep")
        view = pbx.acd.agent_view("a1")
        assert (view["state"], view["reason"]) == ("wrap_up", "handler lost")
        (release,) = [a for a in pbx.acd.actions(agent="a1") if a["action"] == "release"]
        assert "no sign of life for 3 s" in release["detail"]
        assert pbx.q("SELECT count(*) FROM acd_waiting")[0][0] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        stop()
        asterisk.ami.action("Hangup", Channel="/^Local/.*/")
        asterisk.wait_idle(timeout=20)


@pytest.fixture
def caller_back(pbx):
    from cc.store.calls import connect
    from cc.telephony.acd_wiring import callback_runner
    from cc.telephony.ami import client_from_config

    ami = client_from_config(pbx.config.asterisk.ami, events=True, reconnect=False).connect()
    conn = connect(pbx.config.db)
    runner = callback_runner(pbx.config, conn, ami)
    yield runner
    runner.close()
    ami.close()
    conn.close()


def asks_for_a_call_back(pbx, number: str) -> None:
    pbx.agent("a1", "1001")
    pbx.acd.change_state("a1", "pause", "busy")
    pbx.call(number)
    pbx.wait(lambda: pbx.acd.callbacks(), timeout=20, what="the call back request (max wait 3 s)")
    assert [e["reason"] for e in pbx.acd.exits()] == ["callback"]


def test_call_back_made_by_the_acd_agent_first_then_the_customer(pbx, caller_back):
    asks_for_a_call_back(pbx, "+8613800000071")
    pbx.acd.change_state("a1", "ready")
    mark = pbx.asterisk.event_mark()
    (result,) = caller_back.run_once(wait=30)
    assert (result["outcome"], result["status"], result["agent"], result["attempts"]) == ("answered", "done", "a1", 1)
    legs = ("CcAgentRang", "CcAgentUp", "CcCustomerRang", "CcCustomerUp")

    def seen() -> list[dict]:
        return [e for e in pbx.asterisk.ami.events()[mark:] if e.get("UserEvent") in legs]

    # the test's own AMI connection may read the last events a moment after the runner saw the outcome
    pbx.wait(lambda: len(seen()) >= 4, timeout=10, what="both legs' events on the test's AMI connection")
    kinds = [e["UserEvent"] for e in seen()]
    assert sorted(kinds) == sorted(legs)
    # The agent first: the customer is rung only once the agent has answered. (The two "Up" events come
    # from two channels' threads just after each other: CI once saw the customer's first.)
    assert kinds.index("CcAgentRang") < kinds.index("CcCustomerRang")
    assert [e for e in seen() if e["UserEvent"] == "CcCustomerUp"][0]["Number"] == "8613800000071"
    assert [e["state"] for e in reversed(pbx.acd.agent_events("a1")[:3])] == ["ringing", "on_call", "wrap_up"]
    assert pbx.acd.callbacks() == []
    (action,) = [a for a in pbx.acd.actions(agent="a1") if a["action"] == "callback"]
    assert (action["outcome"], action["detail"]) == ("answered", "attempt 1: done (ANSWER)")


def test_call_back_not_answered_is_retried_then_given_up(pbx, caller_back):
    asks_for_a_call_back(pbx, "+8613900139000")  # never answers
    pbx.acd.change_state("a1", "ready")
    (first,) = caller_back.run_once(wait=30)
    assert (first["outcome"], first["status"], first["attempts"]) == ("no_answer", "retry", 1)
    (row,) = pbx.acd.callbacks()
    assert row["cb_next_at"] and row["agent"] is None  # keeps its place, waits for the retry time
    assert caller_back.run_once(wait=1) == []  # not due yet (retry after 1 s), or the agent wraps up
    pbx.acd.store.conn.execute("UPDATE acd_agents SET state = 'ready', wrap_until = NULL WHERE user = 'a1'")
    pbx.wait(lambda: caller_back.run_once(wait=30), timeout=20, what="the second attempt")
    assert caller_back.results[0]["status"] == "failed" and caller_back.results[0]["attempts"] == 2
    assert pbx.acd.callbacks() == []
    assert [a["outcome"] for a in pbx.acd.actions(agent="a1") if a["action"] == "callback"] == ["no_answer", "no_answer"]


def test_attended_transfer_frees_the_agent_when_they_hang_up(pbx, control):
    """The agent consults the target (AMI Atxfer), then hangs up: the transfer completes, the hangup
    handler the ACD put on the agent's channel wraps them up while the caller talks on."""
    pbx.asterisk.host_path(f"{pbx.asterisk.base}/etc/features.conf").write_text("[general]\n[featuremap]\natxfer => *2\n")
    pbx.asterisk.cli("module reload features")
    pbx.config.acd.dial_options = "t"  # the agent may transfer
    pbx.agent("a1", "1001")
    call = pbx.call("+8613800000081")
    pbx.wait(lambda: pbx.state("a1") == "on_call", what="a1 on the call")
    pbx.asterisk.wait_for_event("BridgeEnter", timeout=10)
    control.transfer("a1", "Local/1002@cc-test-xagent", attended=True)
    pbx.asterisk.wait_for_event("UserEvent", timeout=10, UserEvent="CcAgentUp", Agent="1002")  # consulting
    assert pbx.state("a1") == "on_call"
    pbx.asterisk.ami.action("Hangup", Channel=control.agent_channel("a1").channel)
    pbx.asterisk.wait_for_event("AttendedTransfer", timeout=15)
    pbx.wait(lambda: pbx.state("a1") == "wrap_up", timeout=15, what="a1 wrapping up after completing the transfer")
    assert pbx.acd.agent_view("a1")["reason"] == "transferred"
    assert pbx.q("SELECT divert, divert_by FROM acd_waiting WHERE call_id = ?", (call,)) == [
        ("transfer", "D:Local/1002@cc-test-xagent")]  # the caller talks on with the target


def test_supervisor_moves_a_waiting_caller_and_sends_another_to_voicemail(pbx):
    """The handlers holding the callers notice at their next poll (0.3 s): one is answered in the other
    queue, the other's handler writes the voicemail exit and takes the caller to the voicemail prompt."""
    import yaml

    from acd_pbx import QUEUES

    pbx.acd.import_queues(yaml.safe_load(QUEUES.replace("max_wait_seconds: 3", "max_wait_seconds: 0")))  # no call back
    pbx.agent("a1", "1001")
    pbx.acd.change_state("a1", "pause", "busy")
    pbx.agent("a2", "1002", skills=("changes:5",))
    pbx.acd.change_state("a2", "pause", "busy")
    moved = pbx.call("+8613800000091")
    vm = pbx.call("+8613800000092", hold=6)
    pbx.wait(lambda: len(pbx.acd.queue_status("orders")[0]["callers"]) == 2, timeout=15, what="two callers waiting")
    by_call = {c["call_id"]: c["waiting_id"] for c in pbx.acd.queue_status("orders")[0]["callers"]}
    pbx.acd.move_waiting(by_call[moved], "changes", by="boss")
    pbx.acd.send_to_voicemail(by_call[vm], by="boss")
    pbx.acd.change_state("a2", "ready")
    pbx.wait(lambda: len(pbx.acd.exits()) == 3, timeout=20, what="three exits")
    assert sorted((e["call_id"], e["queue"], e["reason"]) for e in pbx.acd.exits()) == sorted([
        (moved, "orders", "overflowed"), (moved, "changes", "answered"), (vm, "orders", "voicemail")])
    assert pbx.state("a2") == "on_call"
