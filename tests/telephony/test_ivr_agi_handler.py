"""AGI handler over a socketpair with a scripted Asterisk: pyst2 wrapped (threads, text streams, hang-ups,
garbage), the IVR walked by keys, and the call record saying what happened."""

from __future__ import annotations

import io
import json
import socket
import threading

import pytest
from ivr_agi_fakes import FakeCaller, start_asterisk

from cc.clock import FrozenClock
from cc.config import Config
from cc.services.container import build_services
from cc.services.ports import CallerHungUp
from cc.store.calls import CallStore, connect
from cc.telephony import handlers
from cc.telephony.agi import AGI, socket_agi


@pytest.fixture
def site(tmp_path):
    config = Config(db=str(tmp_path / "cc.db"))
    config.ivr.prompts_dir = str(tmp_path / "prompts")
    config.ivr.voicemail_dir = str(tmp_path / "rec")
    clock = FrozenClock()
    services = build_services(config, clock=clock)
    services.customers.add(phone="13800138000", name="王芳", tags=["vip"])
    services.accounts.topup("13800138000", 12345)
    services.customers.add(phone="13900000000", name="黑名单", tags=["blacklist"])
    services.close()
    runtime = handlers.build_runtime(config, clock=clock)
    store = CallStore(connect(config.db))
    yield config, runtime, store
    store.close()


def call(site, caller: FakeCaller) -> dict:
    """Run one call: the handler in a worker thread (as the server does), the fake Asterisk in another."""
    config, runtime, store = site
    ours, theirs = socket.socketpair()
    start_asterisk(theirs, caller)
    outcome: list = []

    def work() -> None:
        with ours:
            outcome.append(handlers.handle(socket_agi(ours), runtime, config))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "handler did not finish"
    assert caller.done.wait(5)
    row = store.list_calls(limit=1)[0]
    row["path"] = json.loads(row["path"])
    row["events"] = [(e["kind"], e["node"]) for e in store.events(row["id"])]
    row.update(store.related(row["id"]))
    return row


def test_blacklisted_caller_transcript(site):
    caller = FakeCaller(callerid="13900000000")
    row = call(site, caller)
    prompts = site[0].ivr.prompts_dir
    assert caller.transcript == [
        ("ANSWER", "200 result=0"),
        (f'STREAM FILE {prompts}/refused ""', "200 result=0 endpos=11040"),
        ("HANGUP", "200 result=1"),
    ]
    assert (row["result"], row["reason"], row["blacklisted"]) == ("refused", "blacklisted caller", 1)
    assert ("refused", "") in row["events"]


def test_vip_known_caller_hears_balance_then_queues_with_priority(site):
    caller = FakeCaller(keys=["2", "1", "*", "1"])
    row = call(site, caller)
    cmds = caller.commands()
    assert 'SAY NUMBER 123 ""' in cmds and 'SAY NUMBER 45 ""' in cmds
    assert "SET VARIABLE CC_PRIORITY \"1\"" in cmds
    assert row["result"] == "queued" and row["vip"] == 1 and row["caller"] == "+8613800138000"
    assert row["path"] == ["welcome", "main", "self_service", "balance", "self_service", "main", "order_agent", "bye"]
    assert [(q["queue"], q["priority"]) for q in row["queue_requests"]] == [("orders", 1)]
    assert row["answered_at"] and row["ended_at"]


def test_menu_prompts_are_interruptible_and_a_key_during_the_prompt_counts(site):
    caller = FakeCaller(callerid="13700000001", keys=[])

    def reply(command: str, original=caller.reply) -> str | None:
        if "main_menu" in command:
            return "200 result=51 endpos=800"  # the caller pressed 3 during the menu prompt
        return original(command)

    caller.reply = reply  # type: ignore[method-assign]
    caller.keys = ["1"]
    row = call(site, caller)
    menu = [c for c in caller.commands() if "/main_menu " in c]
    assert menu and menu[0].endswith('"01345*#"')  # 2 (self-service) is offered to known callers only
    assert row["path"][:3] == ["welcome", "main", "complaints"]


def test_caller_hangs_up_mid_menu(site):
    caller = FakeCaller(callerid="13700000002", hangup_at="WAIT FOR DIGIT")
    row = call(site, caller)
    assert row["result"] == "abandoned"
    assert row["reason"].startswith("caller hung up at node 'main'")
    assert row["events"][-2:] == [("hangup", "main"), ("end", "")]


def test_connection_closed_mid_command(site):
    caller = FakeCaller(callerid="13700000003", close_at="STREAM FILE")
    row = call(site, caller)
    assert row["result"] == "abandoned" and "connection closed" in row["reason"]


def test_garbage_reply_ends_the_call_with_a_reason(site):
    caller = FakeCaller(callerid="13700000004", garbage_at="WAIT FOR DIGIT")
    row = call(site, caller)
    assert row["result"] == "error"
    assert row["reason"] == "AGI protocol error: unexpected reply from Asterisk: 'HELLO? ~~~'"


def test_voicemail_is_stored_and_the_dialplan_told(site):
    caller = FakeCaller(callerid="13700000005", keys=["4"])
    row = call(site, caller)
    rec = [c for c in caller.commands() if c.startswith("RECORD FILE")][0]
    assert rec.endswith('wav "#" 60000 0 BEEP s=5')
    assert row["result"] == "voicemail"
    assert len(row["voicemails"]) == 1 and row["voicemails"][0]["duration_ms"] == 3000
    assert row["voicemails"][0]["node"] == "voicemail"


def test_transfer_hands_the_dial_to_the_dialplan(site):
    caller = FakeCaller(callerid="13700000006", keys=["3", "3"])
    row = call(site, caller)
    assert 'SET VARIABLE CC_DIAL "PJSIP/4008001234@trunk"' in caller.commands()
    assert caller.commands()[-1] == 'SET VARIABLE CC_IVR_STATUS "transferred"'
    assert "HANGUP" not in caller.commands()
    assert row["result"] == "transferred"


def test_wrong_secret_is_refused_without_running_the_ivr(site):
    config, runtime, store = site
    config.agi.secret = "s3cret"
    caller = FakeCaller(callerid="13700000007", script="inbound?secret=nope")
    row = call(site, caller)
    assert caller.commands() == []  # the fallback in the dialplan takes the caller (no CC_IVR_STATUS)
    assert row["result"] == "error" and "secret" in row["reason"]
    good = FakeCaller(callerid="13700000008", script="inbound?secret=s3cret", keys=["1"])
    assert call(site, good)["result"] == "queued"


def test_unknown_script_is_an_error_record(site):
    row = call(site, FakeCaller(callerid="13700000009", script="nosuch"))
    assert row["result"] == "error" and "no IVR entry 'nosuch'" in row["reason"]


# -- the pyst2 wrapper itself --------------------------------------------------------------------------


def _agi_with(replies: str) -> tuple[AGI, io.StringIO]:
    out = io.StringIO()
    return AGI(io.StringIO("agi_request: x\n\n" + replies), out), out


def test_wrapper_in_a_thread_with_no_stderr_trace(capsys):
    made: list = []
    thread = threading.Thread(target=lambda: made.append(_agi_with("200 result=1 (milk)\n")))
    thread.start()
    thread.join(5)
    agi, out = made[0]
    assert agi.database_get("fam", "key") == "milk"
    assert out.getvalue() == 'DATABASE GET "fam" "key"\n'  # quoted once
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "reply",
    ["HANGUP\n", "", "511 Command Not Permitted on a dead channel or intercepted channel\n", "200 result=-1 (hangup)\n"],
)
def test_wrapper_hangup_forms_raise_caller_hung_up(reply):
    agi, _ = _agi_with(reply)
    with pytest.raises(CallerHungUp):
        agi.execute("WAIT FOR DIGIT", 1000)


def test_socket_read_timeout_is_a_channel_error():
    from cc.services.ports import ChannelError

    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(b"agi_request: x\n\n")
        agi = socket_agi(ours)
        with pytest.raises(ChannelError, match="no reply"):
            agi.execute("ANSWER", timeout=0.2)


def test_an_ivr_error_leaves_the_caller_to_the_dialplan_fallback(site):
    caller = FakeCaller(callerid="13700000010", script="nosuch")
    row = call(site, caller)
    assert row["result"] == "error"
    assert "HANGUP" not in caller.commands()
    assert caller.commands()[-1] == 'SET VARIABLE CC_IVR_STATUS "error"'
