"""Call control through a real Asterisk 22 and our AMI client: agents, supervisors and customers are Local
channels that answer (or only ring) in test contexts; the control context is what `cc asterisk config`
writes. Every wait is on an AMI event, with a bound."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from cc.clock import SystemClock
from cc.errors import Unreachable
from cc.services.call_control import CallControlService, ControlSettings
from cc.store.call_control import CallControlStore
from cc.store.db import open_db
from cc.telephony import asterisk_runtime as rt
from cc.telephony.ami import DISCONNECTED, RECONNECTED, AmiClient, EventQueue
from cc.telephony.control_dialplan import MODULES, ControlDialplan, render_control

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(90)]

START = "2026-11-26T02:00:00.000+00:00"
TEST_CONTEXTS = """
[cc-test-agent]
; Local/NAME@cc-test-agent/n: an agent's (or supervisor's) phone that answers and stays on the line.
exten => _[a-z].,1,Set(WHO=${EXTEN})
 same => n,UserEvent(CcTestRang,Who: ${WHO})
 same => n,Answer()
 same => n,UserEvent(CcTestUp,Who: ${WHO},Channel: ${CHANNEL})
 same => n,Wait(40)
 same => n,Hangup()
exten => h,1,UserEvent(CcTestGone,Who: ${WHO})

[cc-test-ringing]
; A phone that rings and is never answered.
exten => _[a-z].,1,UserEvent(CcTestRang,Who: ${EXTEN})
 same => n,Ringing()
 same => n,Wait(40)

[cc-test-customer]
; Local/DIGITS@cc-test-customer/n: the customer's phone answers.
exten => _X.,1,Set(WHO=${EXTEN})
 same => n,UserEvent(CcTestRang,Who: ${WHO})
 same => n,Answer()
 same => n,UserEvent(CcTestUp,Who: ${WHO},Channel: ${CHANNEL})
 same => n,Wait(40)
 same => n,Hangup()
exten => h,1,UserEvent(CcTestGone,Who: ${WHO})

; 8613900139000 (13900139000) rings and never answers.
exten => _86139XXXXXXXX,1,UserEvent(CcTestRang,Who: ${EXTEN})
 same => n,Ringing()
 same => n,Wait(40)

[cc-test-acd]
; An inbound call handed to an agent, like the ACD's Dial: EXTEN is the agent's name, CC_AGENT_CTX the phone's
; context. Option t (acd.dial_options) lets the agent transfer: AMI Atxfer works through that feature.
exten => _[a-z].,1,Dial(Local/${EXTEN}@${IF($["${CC_AGENT_CTX}" = ""]?cc-test-agent:${CC_AGENT_CTX})}/n,40,t)
 same => n,Hangup()
"""


@pytest.fixture(scope="module")
def queue_agi():
    """A scripted FastAGI peer standing for cc's ``acd_queue`` script (queue transfers go there)."""
    from scripted_agi import AgiListener

    listener = AgiListener(["ANSWER", "EXEC UserEvent CcQueueReached"])
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def pbx(asterisk, queue_agi):
    """The shared Asterisk with the control context, the test contexts and the modules call control needs."""
    for module in MODULES:
        asterisk.cli(f"module load {module}")
    # Attended transfer (AMI Atxfer) works through the atxfer DTMF feature, as on a real site.
    asterisk.host_path(f"{asterisk.base}/etc/features.conf").write_text("[general]\n[featuremap]\natxfer => *2\n")
    asterisk.cli("module reload features")
    control = render_control(ControlDialplan(context="cc-control", ring_seconds=20, queue_agi_url=queue_agi.url("acd_queue")))
    asterisk.write_extensions(rt.GENERAL + control + TEST_CONTEXTS + rt.CALLER_CONTEXTS)
    return asterisk


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("cc-control") / "cc.db"
    db = open_db(path)
    for name, role in [("agent1", "agent"), ("agent2", "agent"), ("agent3", "agent"), ("boss", "supervisor")]:
        db.conn.execute("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)",
                        (name, role, START, START))
    for user, dial in [("agent1", "Local/agent1@cc-test-agent/n"), ("agent2", "Local/agent2@cc-test-agent/n"),
                       ("agent3", "Local/agent3@cc-test-ringing/n"), ("boss", "Local/boss@cc-test-agent/n")]:
        db.conn.execute("INSERT INTO acd_agents (user, dial, grp, state, state_since, updated_at) VALUES (?, ?, 'orders', 'ready', ?, ?)",
                        (user, dial, START, START))
    db.conn.close()
    return path


class Site:
    def __init__(self, asterisk: rt.AsteriskRuntime, db_path: Path) -> None:
        self.asterisk = asterisk
        self.events = EventQueue()
        self.ami = AmiClient("127.0.0.1", asterisk.ami_port, asterisk.ami_username, asterisk.ami_secret, timeout=5)
        self.ami.subscribe(self.events)
        self.ami.connect()
        self.db = open_db(db_path)
        settings = ControlSettings(context="cc-control", outbound_dial="Local/{digits}@cc-test-customer/n",
                                   caller_id="116114", ring_seconds=20, relay_retry_seconds=0)
        self.control = CallControlService(self.ami, CallControlStore(self.db), SystemClock(), settings, actor="test")

    def user_event(self, name: str, timeout: float = 15, **match: str) -> dict:
        return self.events.wait_for(Event="UserEvent", UserEvent=name, timeout=timeout, **match)

    def inbound(self, agent: str, agent_ctx: str = "") -> str:
        """A customer calls and is put through to ``agent``; returns the call id (the customer's uniqueid)."""
        call = f"cust-{agent}-{len(self.events.seen)}"
        fields = {"Channel": "Local/s@cc-test-caller", "Context": "cc-test-acd", "Exten": agent, "Priority": 1,
                  "Timeout": 20000, "Async": "true", "ChannelId": call, "CallerID": "<+8613700137000>"}
        reply = self.ami.action("Originate", fields, variables={"CC_HOLD": "40", "CC_WAIT": "0", "CC_AGENT_CTX": agent_ctx})
        assert reply["Response"] == "Success", reply
        return call

    def wait_answered(self, call: str) -> None:
        """The agent answered and the two are bridged (call control finds the agent through the bridge;
        DialEnd alone comes a moment before, which under load lost a race)."""
        self.events.wait_for(Event="DialEnd", Uniqueid=call, DialStatus="ANSWER", timeout=15)
        self.events.wait_for(Event="BridgeEnter", Uniqueid=call, timeout=15)

    def close(self) -> None:
        try:
            self.ami.action("Hangup", {"Channel": "/^Local/.*/"})  # leave nothing up for the next test
        except Unreachable:
            pass
        self.ami.close()
        self.db.conn.close()


@pytest.fixture
def site(pbx, template, tmp_path):
    shutil.copy(template, tmp_path / "cc.db")
    s = Site(pbx, tmp_path / "cc.db")
    yield s
    s.close()
    pbx.wait_idle(timeout=10)


def test_click_to_dial_connects_the_agent_then_the_customer(site):
    result = site.control.dial("agent1", "13800138000")
    agent_up = site.user_event("CcTestUp", Who="agent1")
    answered = site.user_event("CcAgentAnswered", Agent="agent1")
    customer_up = site.user_event("CcTestUp", Who="8613800138000")
    assert agent_up["Channel"].startswith("Local/agent1@cc-test-agent-")
    assert site.events.seen.index(answered) < site.events.seen.index(customer_up)
    site.events.wait_for(Event="BridgeEnter", Uniqueid=result["call"], timeout=10)  # agent and customer talk
    site.control.hangup(result["call"])
    site.user_event("CcTestGone", Who="8613800138000")


def test_blind_transfer_moves_the_caller(site):
    call = site.inbound("agent1")
    site.wait_answered(call)
    result = site.control.transfer(call, "agent:agent2")
    assert result["agent"] == "agent1"
    site.user_event("CcTransfer", Target="D:Local/agent2@cc-test-agent/n")
    site.user_event("CcTestUp", Who="agent2")
    site.user_event("CcTestGone", Who="agent1")  # the first agent is released
    site.events.wait_for(Event="BridgeEnter", Uniqueid=call, timeout=10)  # the caller talks to agent2
    live = site.control.resolve(call)
    assert live.agent_user == "agent2" and live.customer.uniqueid == call
    marked = site.ami.action("Getvar", {"Channel": live.customer.channel, "Variable": "CC_TRANSFERRED"})
    assert marked["Value"] == "D:Local/agent2@cc-test-agent/n"  # what the ACD's handler can read


def test_blind_transfer_to_a_queue_reaches_the_acd_script(site, queue_agi):
    call = site.inbound("agent1")
    site.wait_answered(call)
    site.control.transfer(call, "queue:complaints")
    site.user_event("CcTransfer", Target="Q:complaints")
    agi = queue_agi.next_call(timeout=15)
    assert agi.env["agi_request"].endswith("/acd_queue?queue=complaints")
    assert agi.env["agi_uniqueid"] == call  # the caller's own channel, with its call id
    site.user_event("CcTestGone", Who="agent1")


def test_attended_transfer_consults_then_completes(site):
    call = site.inbound("agent1")
    site.wait_answered(call)
    site.control.transfer("agent1", "agent:agent2", attended=True)
    site.user_event("CcTestUp", Who="agent2")  # agent1 talks to agent2 first; the caller waits
    live = site.control.resolve(call)
    assert live.customer is not None
    site.ami.action("Hangup", {"Channel": site.control.agent_channel("agent1").channel})  # agent1 hangs up: completes
    done = site.events.wait_for(Event="AttendedTransfer", timeout=15)
    assert done["Result"] == "Success"
    site.user_event("CcTestGone", Who="agent1")
    live = site.control.resolve(call)  # the caller is bridged (through the transfer's Local channel) to agent2
    assert live.customer.uniqueid == call and live.customer.bridge
    assert site.control.agent_channel("agent2").bridge
    assert not [e for e in site.events.seen if e.get("UserEvent") == "CcTestGone" and e.get("Who") == "agent2"]


def test_conference_brings_in_a_third_party_and_mute_works(site):
    call = site.inbound("agent1")
    site.wait_answered(call)
    site.control.conference(call, "agent2")
    site.user_event("CcConference")
    site.events.wait_for(lambda e: e.get("Event") == "BridgeEnter" and e.get("BridgeNumChannels") == "3", timeout=15)
    muted = site.control.mute("agent1")
    assert muted["channel"].startswith("Local/agent1@cc-test-agent-")
    site.control.mute("agent1", on=False)


def test_pickup_of_a_call_ringing_for_a_colleague(site):
    call = site.inbound("agent3", agent_ctx="cc-test-ringing")
    site.user_event("CcTestRang", Who="agent3")
    site.events.wait_for(lambda e: e.get("Event") == "Newstate" and e.get("ChannelState") == "5"
                         and e.get("Channel", "").startswith("Local/agent3@"), timeout=10)
    result = site.control.pickup("agent1")
    assert result["picked_from"] == "agent3"
    site.events.wait_for(Event="Pickup", timeout=15)
    site.wait_answered(call)
    assert site.control.resolve(call).customer.uniqueid == call


@pytest.mark.parametrize(("mode", "options"), [("listen", "qES"), ("whisper", "qwES"), ("barge", "qBES")])
def test_supervisor_spies_on_a_live_call(site, mode, options):
    call = site.inbound("agent1")
    site.wait_answered(call)
    result = site.control.spy(mode, "boss", "agent1")
    site.user_event("CcSpyStart", Options=options)
    started = site.events.wait_for(Event="ChanSpyStart", timeout=15)
    assert started["SpyeeChannel"] == result["agent_channel"]
    assert "ChanSpy" in site.asterisk.cli("core show channels")


def test_relay_delivery_plays_the_recorded_message(site):
    folder = Path(site.db.conn.execute("PRAGMA database_list").fetchone()[2]).parent / "sounds"
    folder.mkdir()
    with wave.open(str(folder / "relay-1.wav"), "wb") as out:  # 0.5 s, as Asterisk records it (8 kHz mono 16-bit)
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 4000)
    prefix = site.asterisk.add_sounds(folder, "relays")
    site.db.conn.execute("INSERT INTO calls (id, started_at) VALUES ('c1', ?)", (START,))
    for target in ("13800138000", "13700137000"):
        site.db.conn.execute(
            "INSERT INTO voice_relays (call_id, caller, target, file, format, created_at, updated_at)"
            " VALUES ('c1', '+8613700137000', ?, ?, 'wav', ?, ?)", (target, f"{prefix}/relay-1", START, START))
    results = site.control.deliver_relays(wait=30)
    assert [(r["status"], r["attempts"]) for r in results] == [("delivered", 1), ("delivered", 1)]
    played = [site.user_event("CcRelayPlayed", timeout=5) for _ in range(2)]
    assert [e["Status"] for e in played] == ["SUCCESS", "SUCCESS"]
    statuses = site.db.conn.execute("SELECT status FROM voice_relays").fetchall()
    assert statuses == [("delivered",), ("delivered",)]


def test_relay_not_answered_stays_pending_then_fails(site):
    import dataclasses

    site.control.settings = dataclasses.replace(site.control.settings, ring_seconds=2, relay_max_attempts=2)
    site.db.conn.execute("INSERT INTO calls (id, started_at) VALUES ('c2', ?)", (START,))
    site.db.conn.execute(
        "INSERT INTO voice_relays (call_id, caller, target, file, format, created_at, updated_at)"
        " VALUES ('c2', '+8613700137000', '13900139000', 'beep', 'wav', ?, ?)", (START, START))
    first = site.control.deliver_relays(wait=15)
    assert [(r["status"], r["attempts"]) for r in first] == [("pending", 1)]
    assert first[0]["detail"].startswith("not answered")
    second = site.control.deliver_relays(wait=15)  # relay_retry_seconds is 0 here
    assert [(r["status"], r["attempts"]) for r in second] == [("failed", 2)]
    assert site.db.conn.execute("SELECT status, attempts FROM voice_relays").fetchall() == [("failed", 2)]


def test_ami_on_its_own_asterisk_chanvariables_threads_and_a_restart(asterisk_root):
    """Not the shared Asterisk: this one is restarted, and its manager adds ChanVariable headers to every
    channel event (what crashed pyst2's parser)."""
    import threading

    port = rt.free_port()
    own = rt.AsteriskRuntime(extensions=rt.GENERAL + rt.CALLER_CONTEXTS, root=asterisk_root, ami_port=port)
    own.extra_configs["manager.conf"] = (
        f"[general]\nenabled = yes\nport = {port}\nbindaddr = 127.0.0.1\ndisplayconnects = no\n"
        "channelvars = CC_CALL_TAG,CC_KEYS\n\n"
        f"[{own.ami_username}]\nsecret = {own.ami_secret}\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
        "read = all\nwrite = all\n")
    own.start(timeout=60)
    try:
        events = EventQueue()
        ami = AmiClient("127.0.0.1", own.ami_port, own.ami_username, own.ami_secret, timeout=5, backoff_max=0.5)
        ami.subscribe(events)
        ami.connect()
        try:
            tag = own.originate("Local/s@cc-test-caller", context="cc-test-caller", exten="s",
                                variables={"CC_HOLD": "0", "CC_WAIT": "0"})
            tagged = events.wait_for(lambda e: f"CC_CALL_TAG={tag}" in e.get("ChanVariable", ""), timeout=15)
            assert tagged["Event"]
            events.wait_for(Event="UserEvent", UserEvent="CcCallerDone", timeout=15)
            # Many threads at once, each gets its own answers (pyst2 matched them by arrival order).
            for i in range(16):
                assert ami.action("Setvar", {"Variable": f"CC_T{i}", "Value": f"v{i}"})["Response"] == "Success"
            wrong: list[str] = []

            def ask(i: int) -> None:
                for _ in range(25):
                    value = ami.action("Getvar", {"Variable": f"CC_T{i}"}).get("Value")
                    if value != f"v{i}":
                        wrong.append(f"{i}:{value}")

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert wrong == []
            assert ami.action("Ping")["Ping"] == "Pong"
            own.stop()
            events.wait_for(Event=DISCONNECTED, timeout=15)
            with pytest.raises(Unreachable):
                ami.action("Ping", timeout=0.5)
            own.start(timeout=60)
            events.wait_for(Event=RECONNECTED, timeout=30)
            assert ami.action("Ping")["Ping"] == "Pong"
            assert ami.stats["reconnects"] == 1
        finally:
            ami.close()
    finally:
        own.stop()


PJSIP_MODULES = ["res_sorcery_config.so", "res_sorcery_memory.so", "res_sorcery_astdb.so", "res_pjproject.so", "res_pjsip.so",
                 "res_pjsip_session.so", "res_pjsip_authenticator_digest.so", "res_pjsip_endpoint_identifier_user.so",
                 "res_pjsip_registrar.so", "res_pjsip_outbound_authenticator_digest.so", "res_geolocation.so",
                 "res_crypto.so", "res_http_websocket.so", "res_security_log.so", "res_statsd.so"]


def test_generated_agent_endpoints_load_into_asterisk(asterisk_root):
    from cc.telephony.control_dialplan import PJSIP_FILE, render_agent_endpoints

    agents = [{"user": "wang", "dial": "PJSIP/1001", "grp": "orders"}, {"user": "li", "dial": "PJSIP/1002", "grp": ""},
              {"user": "qian", "dial": "PJSIP/13900139000@trunk", "grp": "expert"}]
    sip_port = rt.free_port()
    configs = {
        "pjsip.conf": f"[transport-udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:{sip_port}\n\n#include {PJSIP_FILE}\n",
        PJSIP_FILE: render_agent_endpoints(agents, secret="k"),
        "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}\n" for m in rt.MODULES + PJSIP_MODULES),
    }
    own = rt.AsteriskRuntime(extensions=rt.GENERAL, root=asterisk_root, extra_configs=configs)
    own.start(timeout=60)
    try:
        endpoints = own.cli("pjsip show endpoints")
        assert "Endpoint:  1001/1001" in endpoints and "Endpoint:  1002/1002" in endpoints
        assert "InAuth:  1001/1001" in endpoints and "Objects found: 2" in endpoints
        assert "Aor:  1001" in own.cli("pjsip show aors")
    finally:
        own.stop()
