"""Each defect of python-gsmmodem-new 0.13.0 listed in issue #3, provoked through the simulator over a real
pty, and contained by our adapter. (tests/gsm/test_library_defects.py shows the bare library failing.)"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from cc.errors import Unreachable
from cc.gsm.reassembly import MISSING_PART
from cc.gsm.types import IncomingSms, ModemDown, ModemTimeout, StatusReport
from gsm_helpers import next_event, no_event

pytestmark = pytest.mark.timeout(30)
PHONE, CUSTOMER = "+8613800138000", "+8613900139000"


def test_two_cmti_back_to_back_both_handled(sim, adapter):
    sim.deliver(CUSTOMER, "第一部分" * 20)  # two parts -> two +CMTI in one write
    sim.fault("burst", count=3, sender="+8613900139001")  # three single SMS announced back to back
    events = adapter.events()
    first = next_event(events, IncomingSms)
    assert (first.text, first.parts) == ("第一部分" * 20, 2)
    burst = sorted(next_event(events, IncomingSms).text for _ in range(3))
    assert burst == ["burst 1", "burst 2", "burst 3"]


def test_cmt_direct_delivery_is_received(make_sim, make_adapter):
    sim = make_sim("huawei")
    adapter = make_adapter(sim)
    sim.deliver(CUSTOMER, "Y")
    sim.deliver(CUSTOMER, "确认订单" * 25)  # multipart, direct
    events = adapter.events()
    single = next_event(events, IncomingSms)
    assert (single.text, single.storage_refs) == ("Y", ())
    assert next_event(events, IncomingSms).text == "确认订单" * 25
    adapter.delete_stored(single)  # nothing stored: a no-op


def test_cds_split_across_reads_is_not_lost(make_sim, make_adapter):
    sim = make_sim("wavecom")  # refuses AT+CNMI ds=2: status reports come as "+CDS: n" + PDU line
    adapter = make_adapter(sim)
    assert sim.cnmi[3] == 1
    sim.fault("split", count=1, pause=0.3)
    (part,) = adapter.send(PHONE, "Hello")
    report = next_event(adapter.events(), StatusReport)
    assert (report.reference, report.recipient, report.delivered) == (part.reference, PHONE, True)


def test_emoji_sent_and_received_intact(sim, adapter, tmp_path):
    text = "好的👍 Y 😀"
    adapter.send(PHONE, text)
    assert sim.wait_for_sent(1)[0].text == text
    sim.deliver(CUSTOMER, text)
    sms = next_event(adapter.events(), IncomingSms)
    assert sms.text == text
    sms.text.encode("utf-8")  # no lone surrogates
    db = sqlite3.connect(tmp_path / "t.db")
    db.execute("create table inbox (text text)")
    db.execute("insert into inbox values (?)", (sms.text,))
    assert db.execute("select text from inbox").fetchone()[0] == text


def test_emoji_split_between_parts_is_rejoined(sim, adapter):
    text = "a" * 66 + "😀" + "b" * 10  # our encoder never splits the pair ...
    adapter.send(PHONE, text)
    assert sim.wait_for_sent(1)[0].text == text
    sim.deliver(CUSTOMER, "😀" * 40)  # ... and pairs spanning parts from phones are joined after reassembly
    assert next_event(adapter.events(), IncomingSms).text == "😀" * 40


def test_non_utf8_byte_does_not_kill_the_reader(sim, adapter):
    sim.fault("bad_byte")
    sim.fault("garbage")
    assert adapter.health().registered  # commands still answered
    adapter.send(PHONE, "after the bad byte")
    sim.deliver(CUSTOMER, "N")
    assert next_event(adapter.events(), IncomingSms).text == "N"


def test_multipart_reassembled_in_any_order(sim, adapter):
    text = "".join(f"第{i}段。" for i in range(40))  # 190 characters: 3 parts
    sim.deliver(CUSTOMER, text, reverse=True)
    sms = next_event(adapter.events(), IncomingSms)
    assert (sms.text, sms.parts, sms.complete) == (text, 3, True)
    assert sorted(i for _, i in sms.storage_refs) == [1, 2, 3]


def test_missing_part_gives_up_after_time_limit(sim, make_adapter):
    adapter = make_adapter(sim, multipart_timeout=0.5)
    text = "缺" * 150  # 3 parts, the second never comes
    sim.deliver(CUSTOMER, text, skip_parts=[2])
    sms = next_event(adapter.events(), IncomingSms, timeout=5)
    assert sms.complete is False and (sms.parts, sms.parts_expected) == (2, 3)
    assert sms.text == "缺" * 67 + MISSING_PART + "缺" * 16
    assert len(sms.storage_refs) == 2
    adapter.delete_stored(sms)
    assert sim.stored() == []


def test_no_status_report_when_not_asked(sim, adapter):
    adapter.send(PHONE, "no report please", status_report=False)
    adapter.send(PHONE, "长消息不要回执" * 12, status_report=False)
    assert [m.status_report for m in sim.wait_for_sent(2)] == [False, False]
    no_event(adapter.events(), StatusReport, within=0.3)


def test_report_wait_wakes_only_for_its_own_message(make_sim, make_adapter):
    sim = make_sim(auto_report=False)
    adapter = make_adapter(sim)
    (a,) = adapter.send(PHONE, "A")
    (b,) = adapter.send("+8613800138001", "B")
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(adapter.wait_for_report(a.reference, PHONE, timeout=5)))
    waiter.start()
    sim.send_status_report(b.reference)  # a report for B must not wake A's wait
    report_b = next_event(adapter.events(), StatusReport)
    assert report_b.reference == b.reference and not got
    sim.send_status_report(a.reference, status=0x45)  # A failed permanently
    waiter.join(5)
    (report_a,) = got
    assert (report_a.reference, report_a.delivered, report_a.status_code, report_a.final) == (a.reference, False, 0x45, True)
    with pytest.raises(ModemTimeout):
        adapter.wait_for_report(123, PHONE, timeout=0.1)


def test_flow_control_off_by_default_for_3_wire_boards(make_sim, make_adapter):
    sim = make_sim(three_wire=True)  # with RTS/CTS on, nothing reaches this modem
    adapter = make_adapter(sim)
    assert not sim.client_rtscts()
    adapter.send(PHONE, "3-wire works")
    assert sim.wait_for_sent(1)[0].text == "3-wire works"


def test_flow_control_on_when_configured(make_sim, make_adapter, monkeypatch):
    sim = make_sim()
    make_adapter(sim, rtscts=True)
    assert sim.client_rtscts()
    from cc.gsm.modem import _Port

    monkeypatch.setattr(_Port, "_cc_probe", (0.3, 1))
    three_wire = make_sim(three_wire=True)  # RTS/CTS on a board without those wires: nothing gets through
    with pytest.raises(Unreachable) as err:
        make_adapter(three_wire, rtscts=True)
    assert "rtscts: false" in err.value.hint


def test_reconnect_after_unplug_and_replug(sim, adapter):
    sim.fault("unplug")
    down = next_event(adapter.events(), ModemDown)
    assert down.device == sim.device_path
    with pytest.raises(Unreachable):
        adapter.send(PHONE, "while unplugged")
    with pytest.raises(Unreachable):
        adapter.connect()  # still unplugged: a clear error, no traceback
    sim.fault("replug")
    adapter.connect()  # a new GsmModem on the same path
    adapter.send(PHONE, "after replug")
    assert sim.wait_for_sent(1)[0].text == "after replug"
    sim.deliver(CUSTOMER, "Y")
    assert next_event(adapter.events(), IncomingSms).text == "Y"


def test_silence_times_out_then_recovers(sim, adapter):
    sim.fault("silence")
    with pytest.raises(ModemTimeout) as err:
        adapter.send(PHONE, "into the void", timeout=0.5)
    assert err.value.hint
    sim.fault("clear")
    adapter.send(PHONE, "back again")
    assert [m.text for m in sim.wait_for_sent(1)] == ["back again"]


def test_slow_send_within_timeout(sim, adapter):
    sim.fault("slow_send", seconds=0.4)
    (part,) = adapter.send(PHONE, "slowly", timeout=5)
    assert sim.wait_for_sent(1)[0].references == [part.reference]


def test_notification_during_a_command_is_not_swallowed(make_sim, make_adapter):
    sim = make_sim(delay=0.3)  # the +CMTI arrives while AT+CMGS waits for its answer
    adapter = make_adapter(sim)
    done = threading.Event()
    threading.Thread(target=lambda: (adapter.send(PHONE, "slow"), done.set()), daemon=True).start()
    sim.wait_for_sent(1)
    sim.deliver(CUSTOMER, "Y during send")
    assert next_event(adapter.events(), IncomingSms).text == "Y during send"
    assert done.wait(5)


def test_cmti_for_a_message_read_at_start_is_not_duplicated(sim, make_adapter):
    sim.store(CUSTOMER, "already here")
    adapter = make_adapter(sim)
    (stored,) = adapter.stored_messages()
    adapter._notes.put(("cmti", "SM", stored.storage_refs[0][1]))  # a late +CMTI for the same index
    no_event(adapter.events(), IncomingSms, within=0.3)


@pytest.mark.parametrize("personality", ["generic", "huawei", "simcom", "quectel", "wavecom"])
def test_personalities_full_round_trip(make_sim, make_adapter, personality):
    sim = make_sim(personality)
    adapter = make_adapter(sim)
    text = "【XX乳业】订单1234：合计¥150.00，回复Y确认，回复N取消" * 2
    parts = adapter.send(PHONE, text)
    assert sim.wait_for_sent(1)[0].text == text
    reports = {next_event(adapter.events(), StatusReport).reference for _ in parts}
    assert reports == {p.reference for p in parts}
    sim.deliver(CUSTOMER, "确认" * 50)
    sms = next_event(adapter.events(), IncomingSms)
    assert (sms.text, sms.parts) == ("确认" * 50, 2)
    adapter.delete_stored(sms)
    assert [m for m in sim.stored() if m["kind"] == "deliver"] == []
    if personality in ("wavecom", "quectel"):
        assert adapter.skipped_setup  # the rejected optional set-up command was skipped, not fatal


def test_unanswered_read_of_a_new_message_is_retried(sim, adapter, caplog):
    caplog.set_level("WARNING")
    adapter.read_timeout, adapter.retry_delay = 0.3, 0.2
    sim.fault("silence", seconds=0.4)  # the +CMTI comes, the AT+CMGR that follows gets no answer
    sim.deliver(CUSTOMER, "Y after a hiccup")
    assert next_event(adapter.events(), IncomingSms, timeout=5).text == "Y after a hiccup"
    assert "trying again" in caplog.text


def test_unplug_during_a_send_fails_fast(make_sim, make_adapter):
    sim = make_sim(delay=3.0)
    adapter = make_adapter(sim)
    errors: list = []
    sender = threading.Thread(target=lambda: errors.append(pytest.raises(Unreachable, adapter.send, PHONE, "x", timeout=20)))
    started = time.monotonic()
    sender.start()
    sim.wait_for_sent(1)  # the modem has the PDU and is "sending"
    sim.fault("unplug")
    sender.join(5)
    assert errors and time.monotonic() - started < 3  # not the 20 s send timeout
    assert "went away" in errors[0].value.message
    assert isinstance(next_event(adapter.events(), ModemDown), ModemDown)
