"""Call control as AMI actions, against a fake AMI port (what is sent, to which channel, with which
variables), and the voice-relay delivery states, on a real SQLite file with a frozen clock."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from cc.clock import FrozenClock
from cc.errors import NotFound, PermissionDenied, Refused, Unreachable, UsageError
from cc.services.call_control import SPY_OPTIONS, CallControlService, ControlSettings, dial_match
from cc.store.call_control import CallControlStore
from cc.store.db import open_db
from cc.telephony.control_dialplan import ControlDialplan, render_agent_endpoints, render_control

START = "2026-11-26T02:00:00.000+00:00"


class FakeAmi:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, dict]] = []
        self.channels: list[dict] = []
        self.replies: dict[str, dict] = {}
        self.subscribers: list = []
        self.on_originate = None
        self.down = False

    def action(self, name, fields=None, *, variables=None, timeout=None):
        if self.down:
            raise Unreachable("AMI down", "hint")
        self.sent.append((name, dict(fields or {}), dict(variables or {})))
        if name == "Originate" and self.on_originate:
            self.on_originate(dict(fields or {}), dict(variables or {}))
        return self.replies.get(name, {"Response": "Success"})

    def action_list(self, name, fields=None, *, timeout=None):
        if self.down:
            raise Unreachable("AMI down", "hint")
        return {"Response": "Success", "EventList": "start"}, [dict(c, Event="CoreShowChannel") for c in self.channels]

    def subscribe(self, callback):
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, **event):
        for cb in list(self.subscribers):
            cb(event)

    def names(self):
        return [s[0] for s in self.sent]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("cc-template") / "cc.db"
    open_db(path).conn.close()  # migrated once; each test copies it
    return path


@pytest.fixture
def env(tmp_path, template):
    shutil.copy(template, tmp_path / "cc.db")
    db = open_db(tmp_path / "cc.db")
    conn = db.conn
    for name, role in [("wang", "agent"), ("li", "agent"), ("zhao", "expert"), ("qian", "expert"), ("boss", "supervisor"), ("ann", "agent")]:
        conn.execute("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)", (name, role, START, START))
    for user, dial, grp, state in [
        ("wang", "PJSIP/1001", "orders", "on_call"), ("li", "PJSIP/1002", "orders", "ringing"),
        ("zhao", "PJSIP/2001", "expert", "ready"), ("qian", "PJSIP/13900139000@trunk", "expert", "ready"),
        ("boss", "PJSIP/3001", "", "offline"),
    ]:
        conn.execute("INSERT INTO acd_agents (user, dial, grp, state, state_since, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (user, dial, grp, state, START, START))
    conn.execute("INSERT INTO acd_queues (name, definition, loaded_at) VALUES ('orders', '{}', ?)", (START,))
    ami = FakeAmi()
    clock = FrozenClock(START)
    settings = ControlSettings(outbound_dial="PJSIP/{number}@trunk", caller_id="116114", ring_seconds=20,
                               relay_max_attempts=2, relay_retry_seconds=600)
    service = CallControlService(ami, CallControlStore(db), clock, settings, actor="boss")
    # A live call: customer (inbound trunk) bridged with wang; li's phone ringing for another caller.
    ami.channels = [
        {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "1764.1", "Linkedid": "1764.1", "BridgeId": "b1",
         "ChannelState": "6", "CallerIDNum": "+8613800138000", "Duration": "00:01:00"},
        {"Channel": "PJSIP/1001-00000002", "Uniqueid": "1764.2", "Linkedid": "1764.1", "BridgeId": "b1",
         "ChannelState": "6", "CallerIDNum": "1001", "Duration": "00:00:50"},
        {"Channel": "PJSIP/trunk-00000003", "Uniqueid": "1764.3", "Linkedid": "1764.3", "BridgeId": "",
         "ChannelState": "6", "CallerIDNum": "+8613700137000", "Application": "AGI"},
        {"Channel": "PJSIP/1002-00000004", "Uniqueid": "1764.4", "Linkedid": "1764.3", "BridgeId": "",
         "ChannelState": "5", "CallerIDNum": "1002"},
    ]
    yield service, ami, db, clock
    db.conn.close()


def log(db):
    return [dict(zip([d[0] for d in cur.description], row)) for cur in [db.conn.execute("SELECT * FROM call_control_events ORDER BY id")]
            for row in cur.fetchall()]


def test_dial_match():
    assert dial_match("PJSIP/1001") == ("PJSIP/1001-", "")
    assert dial_match("Local/a1@cc-test-agent/n") == ("Local/a1@cc-test-agent-", "")
    assert dial_match("PJSIP/+8613900139000@trunk") == ("PJSIP/trunk-", "8613900139000")
    assert dial_match("PJSIP/1001&PJSIP/1002") == ("PJSIP/1001-", "")


def test_click_to_dial_rings_the_agent_then_the_customer(env):
    service, ami, db, _ = env
    result = service.dial("wang", "13800138000")
    name, fields, variables = ami.sent[-1]
    assert name == "Originate"
    assert fields["Channel"] == "PJSIP/1001" and fields["Exten"] == "connect" and fields["Context"] == "cc-control"
    assert fields["Async"] == "true" and fields["Timeout"] == 20000 and fields["ChannelId"] == result["call"]
    assert variables == {"CC_TARGET": "PJSIP/+8613800138000@trunk", "CC_AGENT": "wang", "CC_OUT_CALLERID": "116114"}
    assert log(db)[-1]["action"] == "dial" and log(db)[-1]["actor"] == "boss"


def test_dial_refusals(env):
    service, ami, db, _ = env
    with pytest.raises(NotFound):
        service.dial("nobody", "13800138000")
    with pytest.raises(UsageError):
        service.dial("wang", "12")
    ami.replies["Originate"] = {"Response": "Error", "Message": "Extension does not exist."}
    with pytest.raises(Refused, match="Extension does not exist"):
        service.dial("wang", "13800138000")
    assert log(db)[-1]["outcome"] == "failed"
    ami.down = True
    with pytest.raises(Unreachable):
        service.dial("wang", "13800138000")


@pytest.mark.parametrize(("target", "route"), [
    ("queue:complaints", "Q:complaints"),
    ("orders", "Q:orders"),
    ("agent:li", "D:PJSIP/1002"),
    ("li", "D:PJSIP/1002"),
    ("expert", "D:PJSIP/13900139000@trunk&PJSIP/2001"),
    ("13700137000", "D:PJSIP/+8613700137000@trunk"),
    ("PJSIP/1005", "D:PJSIP/1005"),
])
def test_blind_transfer_redirects_the_customer(env, target, route):
    service, ami, _, _ = env
    result = service.transfer("wang", target)
    (db_name, db_fields, _), (set_name, set_fields, _), (name, fields, _) = ami.sent[-3:]
    assert db_name == "DBPut" and db_fields["Family"] == "cc-xfer" and db_fields["Val"] == route
    assert (set_name, set_fields) == ("Setvar", {"Channel": "PJSIP/trunk-00000001", "Variable": "CC_TRANSFERRED", "Value": route})
    assert name == "Redirect" and fields["Channel"] == "PJSIP/trunk-00000001"
    assert fields["Exten"] == db_fields["Key"] and fields["Context"] == "cc-control"
    assert result["agent"] == "wang"


def test_the_call_can_be_named_by_id_linkedid_or_channel(env):
    service, _, _, _ = env
    for name in ("1764.1", "PJSIP/trunk-00000001", "1764.2", "wang"):
        live = service.resolve(name)
        assert live.customer.channel == "PJSIP/trunk-00000001" and live.agent.channel == "PJSIP/1001-00000002"
        assert live.agent_user == "wang"
    with pytest.raises(NotFound):
        service.resolve("1764.99")
    with pytest.raises(Refused, match="not on a call"):
        service.resolve("zhao")


def test_attended_transfer_uses_atxfer_on_the_agents_channel(env):
    service, ami, _, _ = env
    service.transfer("1764.1", "expert", attended=True)
    name, fields, _ = ami.sent[-1]
    assert name == "Atxfer" and fields["Channel"] == "PJSIP/1001-00000002"


def test_bad_targets(env):
    service, _, db, _ = env
    with pytest.raises(UsageError, match="not a queue"):
        service.transfer("wang", "somewhere")
    with pytest.raises(UsageError):
        service.transfer("wang", "queue:bad name")
    db.conn.execute("UPDATE acd_agents SET state = 'paused' WHERE grp = 'expert'")
    with pytest.raises(Refused, match="nobody in group 'expert' is ready"):
        service.transfer("wang", "expert")


def test_conference_hangup_mute(env):
    service, ami, _, _ = env
    service.conference("wang", "agent:zhao")
    name, fields, variables = ami.sent[-1]
    assert (name, fields["Channel"], fields["Exten"]) == ("Originate", "PJSIP/2001", "conference")
    assert variables == {"CC_BRIDGE_CHANNEL": "PJSIP/1001-00000002"}
    with pytest.raises(UsageError):
        service.conference("wang", "queue:orders")
    service.hangup("1764.1")
    assert ami.sent[-1][:2] == ("Hangup", {"Channel": "PJSIP/trunk-00000001", "Cause": 16})
    service.mute("wang")
    assert ami.sent[-1][:2] == ("MuteAudio", {"Channel": "PJSIP/1001-00000002", "Direction": "in", "State": "on"})
    service.mute("wang", on=False)
    assert ami.sent[-1][1]["State"] == "off"


def test_pickup_takes_the_call_ringing_for_a_colleague(env):
    service, ami, _, _ = env
    result = service.pickup("wang")
    name, fields, variables = ami.sent[-1]
    assert result["picked_from"] == "li"
    assert (fields["Channel"], fields["Exten"], variables["CC_PICKUP"]) == ("PJSIP/1001", "pickup", "PJSIP/1002-00000004")
    with pytest.raises(Refused, match="no call is ringing"):
        service.pickup("zhao")  # nothing rings in the expert group


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
def test_spy_modes(env, mode):
    service, ami, db, _ = env
    service.spy(mode, "boss", "wang")
    name, fields, variables = ami.sent[-1]
    assert (fields["Channel"], fields["Exten"]) == ("PJSIP/3001", "spy")
    assert variables == {"CC_SPY_CHANNEL": "PJSIP/1001-00000002", "CC_SPY_OPTIONS": SPY_OPTIONS[mode]}
    assert log(db)[-1]["action"] == f"spy_{mode}" and log(db)[-1]["target"] == "boss"


def test_spy_rules(env):
    service, _, _, _ = env
    assert SPY_OPTIONS == {"listen": "qES", "whisper": "qwES", "barge": "qBES"}
    with pytest.raises(PermissionDenied):
        service.spy("listen", "li", "wang")
    with pytest.raises(Refused, match="not on a call"):
        service.spy("listen", "boss", "zhao")
    with pytest.raises(UsageError):
        service.spy("shout", "boss", "wang")
    service.spy("listen", "boss", "wang", dial="PJSIP/3009")


def _relay(db, target="13800138000", file="/rec/relay-1"):
    db.conn.execute("INSERT INTO calls (id, started_at) VALUES ('c1', ?) ON CONFLICT DO NOTHING", (START,))
    cur = db.conn.execute(
        "INSERT INTO voice_relays (call_id, caller, target, file, format, created_at, updated_at)"
        " VALUES ('c1', '+8613700137000', ?, ?, 'wav', ?, ?)", (target, file, START, START))
    return cur.lastrowid


def _status(db, relay_id):
    return db.conn.execute("SELECT status, attempts FROM voice_relays WHERE id = ?", (relay_id,)).fetchone()


def test_relay_delivered_when_the_message_was_played(env):
    service, ami, db, _ = env
    rid = _relay(db)

    def answer(fields, variables):
        ami.emit(Event="OriginateResponse", Response="Success", Uniqueid=fields["ChannelId"])
        ami.emit(Event="UserEvent", UserEvent="CcRelayPlayed", RelayId=str(variables["CC_RELAY_ID"]), Status="SUCCESS")
        ami.emit(Event="Hangup", Uniqueid=fields["ChannelId"])

    ami.on_originate = answer
    out = service.deliver_relays(wait=2)
    assert out == [{"id": rid, "target": "13800138000", "status": "delivered", "attempts": 1, "detail": ""}]
    assert _status(db, rid) == ("delivered", 1)
    _, fields, variables = ami.sent[-1]
    assert fields["Exten"] == "relay" and variables["CC_RELAY_FILE"] == "/rec/relay-1"
    assert service.deliver_relays(wait=1) == []  # nothing left


def test_relay_retried_then_failed(env):
    service, ami, db, clock = env
    rid = _relay(db)
    ami.on_originate = lambda f, v: ami.emit(Event="OriginateResponse", Response="Failure", Reason="3", Uniqueid=f["ChannelId"])
    assert service.deliver_relays(wait=2)[0]["status"] == "pending"
    assert _status(db, rid) == ("pending", 1)
    assert service.deliver_relays(wait=1) == []  # not before relay_retry_seconds
    clock.advance(601)
    # Answered but hung up during the message: not delivered; the last attempt fails it.
    ami.on_originate = lambda f, v: (ami.emit(Event="OriginateResponse", Response="Success", Uniqueid=f["ChannelId"]),
                                     ami.emit(Event="Hangup", Uniqueid=f["ChannelId"]))
    out = service.deliver_relays(wait=2)
    assert out[0]["status"] == "failed" and out[0]["detail"] == "hung up during the message"
    assert _status(db, rid) == ("failed", 2)


def test_relay_with_asterisk_down_keeps_its_attempts(env):
    service, ami, db, _ = env
    rid = _relay(db)
    ami.down = True
    with pytest.raises(Unreachable):
        service.deliver_relays(wait=1)
    assert _status(db, rid) == ("pending", 0)  # not tried: the attempt is given back, the run exits 3


def test_relay_with_no_outcome_in_time_is_retried(env):
    service, _, db, _ = env
    rid = _relay(db)
    assert service.deliver_relays(wait=0.2)[0]["detail"] == "no outcome in time"
    assert _status(db, rid) == ("pending", 1)


def test_control_context_and_endpoints():
    text = render_control(ControlDialplan(context="cc-control", ring_seconds=25, queue_agi_url="agi://127.0.0.1:4573/acd_queue"))
    assert "[cc-control]" in text and "Dial(${CC_TARGET},25,T)" in text
    assert "ChanSpy(${CC_SPY_CHANNEL},${CC_SPY_OPTIONS})" in text and "PickupChan(${CC_PICKUP})" in text
    assert "BridgeAdd(${CC_BRIDGE_CHANNEL})" in text and "DB_DELETE(cc-xfer/${EXTEN})" in text
    assert "AGI(agi://127.0.0.1:4573/acd_queue?queue=${CC_XFER:2})" in text
    pjsip = render_agent_endpoints([
        {"user": "wang", "dial": "PJSIP/1001", "grp": "orders"},
        {"user": "qian", "dial": "PJSIP/13900139000@trunk", "grp": "expert"},
        {"user": "loc", "dial": "Local/x@y", "grp": ""},
    ], secret="s")
    assert "[1001](cc-agent-phone)" in pjsip and "13900139000" not in pjsip and "Local" not in pjsip
    assert "password = CHANGE_ME" not in pjsip
    assert "password = CHANGE_ME" in render_agent_endpoints([{"user": "wang", "dial": "PJSIP/1001", "grp": ""}])


def test_service_imports_no_framework():
    code = ("import sys, cc.services.call_control; bad = {'sqlite_utils', 'typer', 'rich', 'textual', 'serial', 'gsmmodem', 'asterisk'}"
            " & set(m.split('.')[0] for m in sys.modules); print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stderr


def test_shipped_control_example_is_what_the_generator_writes():
    from pathlib import Path

    from cc.config import load_config
    from cc.telephony.control_dialplan import dialplan_from_config

    shipped = Path(__file__).resolve().parents[2] / "examples" / "asterisk" / "cc-control.conf"
    assert shipped.read_text(encoding="utf-8") == render_control(dialplan_from_config(load_config(None)))
