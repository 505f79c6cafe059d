"""The IVR through a real Asterisk 22: callers dial the hotline (the shipped dialplan), Asterisk hands each
call to our FastAGI server, and the test callers walk the default dairy tree by DTMF.

Prompts here are 0.3 s tones made with sox (one per prompt id of the default tree), so the walks are
quick and the key timing does not depend on text-to-speech lengths. Keys pressed during a
non-interruptible prompt are lost in a real IVR too, hence the pauses (W = 1 s) in the key strings.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from cc.clock import SystemClock
from cc.config import Config
from cc.services.container import build_services
from cc.store.calls import CallStore, connect
from cc.telephony import asterisk_runtime as rt
from cc.telephony import dialplan
from cc.telephony import server as agi_server
from cc.telephony.handlers import build_runtime

pytestmark = pytest.mark.asterisk

VIP = "+8613800138000"
BLACKLISTED = "+8613900000000"
STAFF_EXTEN = "8000"


def make_prompts(folder: Path, ids: list[str], seconds: float = 0.3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pid in ids:
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(folder / f"{pid}.wav"),
             "synth", f"{seconds}", "sine", "440"],
            check=True, capture_output=True, timeout=30,
        )


class IvrSite:
    def __init__(self, asterisk: rt.AsteriskRuntime, base: Path) -> None:
        self.asterisk = asterisk
        config = Config(db=str(base / "cc.db"))
        config.ivr.prompts_dir = str(base / "prompts")
        recordings = f"{asterisk.base}/cc-recordings"
        asterisk.host_path(recordings).mkdir(parents=True, exist_ok=True)
        config.ivr.voicemail_dir = str(asterisk.host_path(recordings))
        config.ivr.asterisk_recordings_dir = recordings
        config.ivr.dial_template = "Local/{number}@cc-test-outbound"
        services = build_services(config, clock=SystemClock())
        services.customers.add(phone=VIP, name="王芳", tags=["vip"])
        services.accounts.topup(VIP, 12345)
        services.customers.add(phone=BLACKLISTED, name="骚扰", tags=["blacklist"])
        services.db.conn.close()
        self.runtime = build_runtime(config, queued_writes=True)
        first = CallStore(connect(config.db))
        try:
            _, tree = self.runtime.trees.current(first)
        finally:
            first.close()
        make_prompts(Path(config.ivr.prompts_dir), list(tree.prompts))
        config.ivr.asterisk_prompts_dir = asterisk.add_sounds(config.ivr.prompts_dir, "cc-ivr-prompts")
        self.runtime.settings.asterisk_prompts_dir = config.ivr.asterisk_prompts_dir
        self.config = config
        self.server = agi_server.FastAgiServer(("127.0.0.1", 0), self.runtime, config)
        self.server.start()
        self.store = CallStore(connect(config.db))

    def load_dialplan(self, port: int | None = None) -> dialplan.DialplanSettings:
        port = port or self.server.port
        settings = dialplan.DialplanSettings(
            hotline="116114", agi_url=f"agi://127.0.0.1:{port}/inbound", operator_dial="Local/s@cc-test-operator"
        )
        extra = f"""
[cc-test-outbound]
; transfers from the IVR (CC_DIAL) ring the test operator
exten => _X.,1,Goto(cc-test-operator,s,1)

[cc-staff]
exten => {STAFF_EXTEN},1,Set(CC_IVR_STATUS=)
 same => n,AGI(agi://127.0.0.1:{port}/staff)
 same => n,Hangup()
"""
        self.asterisk.write_extensions(rt.GENERAL + dialplan.render_inbound(settings) + rt.CALLER_CONTEXTS + extra)
        return settings

    def call(self, keys: str = "", caller: str = "+8613700000000", hold: float = 40, staff: bool = False) -> str:
        exten, context = (STAFF_EXTEN, "cc-staff") if staff else ("116114", "cc-inbound")
        return self.asterisk.call(exten, context, keys=keys, wait=1.5, hold=hold, key_gap_ms=200, caller_id=caller)

    def wait_done(self, tag: str, timeout: float = 60) -> None:
        self.asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, timeout=timeout)

    def record_for(self, caller: str, timeout: float = 15) -> dict:
        """The newest finished call record from this caller (the AGI side may end just after the caller)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = [r for r in self.store.list_calls(limit=500, caller=caller) if r["ended_at"]]
            if rows:
                row = rows[0]
                row["path"] = json.loads(row["path"])
                row["kinds"] = [e["kind"] for e in self.store.events(row["id"])]
                row.update(self.store.related(row["id"]))
                return row
            if time.monotonic() > deadline:
                raise AssertionError(f"no finished call from {caller}")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.stop(drain_seconds=5)
        self.store.close()


@pytest.fixture(scope="module")
def site(asterisk, tmp_path_factory):
    s = IvrSite(asterisk, tmp_path_factory.mktemp("ivr-asterisk"))
    yield s
    s.close()


@pytest.fixture
def ivr(site):
    site.load_dialplan()
    return site


def test_known_vip_caller_walks_menus_readouts_and_queue(ivr):
    # welcome+promotion, main menu: 2 self-service; 1 balance (readout, then back to self-service);
    # 2 order status; * back to main; 1 order by agent (queue) -> goodbye.
    tag = ivr.call("2W1WWWWWWWWW2WWWWWWWWW*W1", caller=VIP, hold=60)
    ivr.wait_done(tag)
    row = ivr.record_for(VIP)
    assert row["path"] == ["welcome", "main", "self_service", "balance", "self_service", "order_status",
                           "self_service", "main", "order_agent", "bye"], row
    assert row["result"] == "queued" and row["vip"] == 1
    assert [(q["queue"], q["priority"]) for q in row["queue_requests"]] == [("orders", 1)]


def test_voicemail_relay_and_transfer(ivr):
    vm = ivr.call("4WWWW#", caller="+8613700000001")
    relay = ivr.call("5WWWW#WW13800001111#", caller="+8613700000002")
    transfer = ivr.call("3W3", caller="+8613700000003", hold=15)
    for tag in (vm, relay, transfer):
        ivr.wait_done(tag)
    row = ivr.record_for("+8613700000001")
    assert row["result"] == "voicemail" and row["path"] == ["welcome", "main", "voicemail", "bye"], row
    (mail,) = row["voicemails"]
    assert Path(ivr.config.ivr.voicemail_dir, Path(mail["file"]).name + ".wav").exists()
    row = ivr.record_for("+8613700000002")
    assert row["result"] == "relayed", row
    assert [(r["target"], r["status"]) for r in row["voice_relays"]] == [("13800001111", "pending")]
    row = ivr.record_for("+8613700000003")
    assert row["result"] == "transferred" and row["path"][-1] == "station", row
    ivr.asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=transfer, timeout=10)
    assert not [e for e in ivr.asterisk.user_events("CcFallback") if e.get("Tag") in (vm, relay, transfer)]


def test_staff_records_a_greeting(ivr):
    tag = ivr.call("1WWWW#WWW2WWWW#WWW1", staff=True, caller="+8613700000009", hold=30)
    ivr.wait_done(tag)
    row = ivr.record_for("+8613700000009")
    assert row["result"] == "greeting", row
    assert row["path"][:2] == ["staff_menu", "record_welcome"]
    assert [g["prompt"] for g in row["greetings"]] == ["welcome"]
    assert row["kinds"].count("record") == 2  # recorded, re-recorded, kept


def test_blacklisted_caller_is_refused(ivr):
    tag = ivr.call("", caller=BLACKLISTED, hold=20)
    ivr.wait_done(tag, timeout=20)
    row = ivr.record_for(BLACKLISTED)
    assert (row["result"], row["reason"], row["blacklisted"]) == ("refused", "blacklisted caller", 1)
    assert row["path"] == [] and "refused" in row["kinds"]
    assert not [e for e in ivr.asterisk.user_events("CcFallback") if e.get("Tag") == tag]


def test_caller_hangs_up_mid_menu(ivr):
    tag = ivr.call("", caller="+8613700000004", hold=3)  # hangs up while the main menu waits for a key
    ivr.wait_done(tag, timeout=15)
    row = ivr.record_for("+8613700000004")
    assert row["result"] == "abandoned"
    assert row["reason"].startswith("caller hung up at node 'main'"), row["reason"]


def test_agi_server_down_the_fallback_answers(ivr):
    ivr.load_dialplan(port=rt.free_port())  # nobody listens there
    tag = ivr.call("", caller="+8613700000005", hold=20)
    fallback = ivr.asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, timeout=15)
    assert fallback["Reason"] == "FAILURE"
    ivr.asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, timeout=20)


def test_agi_server_stopping_mid_call_hands_the_caller_to_the_fallback(ivr):
    """A call outliving the server's drain is cut: its record says so, and the dialplan's fallback (the
    operator) takes the caller; nobody is dropped silently."""
    caller = "+8613700000006"
    runtime = build_runtime(ivr.config, queued_writes=True)  # its own writer: stopping it leaves the site's
    server = agi_server.FastAgiServer(("127.0.0.1", 0), runtime, ivr.config)
    server.start()
    try:
        ivr.load_dialplan(port=server.port)
        tag = ivr.call("", caller=caller, hold=40)  # no key: the main menu waits (and retries)
        deadline = time.monotonic() + 30
        while not [r for r in ivr.store.list_calls(limit=50, caller=caller)
                   if "main" in [e["node"] for e in ivr.store.events(r["id"])]]:
            assert time.monotonic() < deadline, "the call never reached the main menu"
            time.sleep(0.05)
        assert server.stop(drain_seconds=0.5) is False  # still in the menu: cut
    finally:
        server.stop(drain_seconds=0)
    fallback = ivr.asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, timeout=15)
    assert fallback["Reason"] == "unfinished"
    ivr.asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, timeout=20)
    row = ivr.record_for(caller)
    assert (row["result"], row["reason"]) == ("abandoned", "cut when the AGI server stopped at node 'main'"), row


def test_fifty_simultaneous_callers_complete(ivr):
    callers = [f"+86137100{i:05d}" for i in range(50)]
    tags = [ivr.call("1", caller=c, hold=30) for c in callers]
    for tag in tags:
        ivr.wait_done(tag, timeout=90)
    results = [ivr.record_for(c)["result"] for c in callers]
    assert results == ["queued"] * 50
    assert not [e for e in ivr.asterisk.user_events("CcFallback") if e.get("Tag") in tags]
