"""Our adapter over the real python-gsmmodem-new, over a real pty, against the simulator."""

from __future__ import annotations

import time

import pytest

from cc.errors import ConfigError, Unreachable
from cc.gsm.types import GsmModemPort, IncomingSms, ModemHealth, SendRejected, StatusReport

from gsm_helpers import next_event

pytestmark = pytest.mark.timeout(30)

CONFIRM = "【XX乳业】订单1234：鲜牛奶x1，每日1次共30次，合计¥150.00，回复Y确认，回复N取消"


def test_connect_send_and_receive(sim, adapter):
    assert isinstance(adapter, GsmModemPort)
    parts = adapter.send("+8613800138000", "Hello from cc", status_report=False)
    assert [(p.part_no, p.parts) for p in parts] == [(1, 1)]
    (sent,) = sim.wait_for_sent(1)
    assert (sent.to, sent.text, sent.mode) == ("+8613800138000", "Hello from cc", "pdu")
    sim.deliver("+8613900139000", "Y")
    sms = next_event(adapter.events(), IncomingSms)
    assert (sms.sender, sms.text, sms.parts) == ("+8613900139000", "Y", 1)
    assert sms.received_at.tzinfo is not None
    assert sms.storage_refs == (("SM", 1),)
    adapter.delete_stored(sms)
    assert sim.stored() == []


def test_health(adapter):
    health = adapter.health()
    assert health == ModemHealth(signal=21, registered=True, operator="CHINA MOBILE", imei="861234567890123", model="GSM Modem")


def test_health_without_network(sim, adapter):
    sim.fault("no_network")
    health = adapter.health()
    assert (health.signal, health.registered, health.operator) == (None, False, None)


def test_chinese_multipart_both_ways_with_reports_matched(sim, adapter):
    text = CONFIRM * 2  # 2 x 52 characters: two UCS2 parts
    parts = adapter.send("+8613800138000", text)
    assert [(p.part_no, p.parts) for p in parts] == [(1, 2), (2, 2)]
    (sent,) = sim.wait_for_sent(1)
    assert sent.text == text and sent.parts == 2 and sent.references == [p.reference for p in parts]
    reports = [next_event(adapter.events(), StatusReport) for _ in parts]
    assert sorted(r.reference for r in reports) == sorted(p.reference for p in parts)
    assert all(r.delivered and r.recipient == "+8613800138000" for r in reports)
    reply = "确认，谢谢！" * 30  # 180 characters: three parts
    sim.deliver("+8613900139000", reply)
    sms = next_event(adapter.events(), IncomingSms)
    assert (sms.text, sms.parts, sms.complete) == (reply, 3, True)
    assert len(sms.storage_refs) == 3


def test_long_gsm7_message_is_concatenated(sim, adapter):
    text = "Your order 1234 is confirmed. " * 8
    parts = adapter.send("+8613800138000", text, status_report=False)
    assert len(parts) == 2
    assert sim.wait_for_sent(1)[0].text == text


def test_stored_messages_on_start(sim, make_adapter):
    sim.store("+8613900139000", "Y 1234")
    sim.store("+8613900139001", "取消" * 40)  # two parts
    sim.store("+8613900139002", "N", read=True)
    adapter = make_adapter(sim)
    stored = adapter.stored_messages()
    assert [(s.sender, s.text, s.parts) for s in stored] == [
        ("+8613900139000", "Y 1234", 1),
        ("+8613900139001", "取消" * 40, 2),
        ("+8613900139002", "N", 1),
    ]
    for sms in stored:
        adapter.delete_stored(sms)
    assert sim.stored() == []


def test_text_mode_option(make_sim, make_adapter):
    sim = make_sim()
    adapter = make_adapter(sim, mode="text")
    adapter.send("+8613800138000", "short text", status_report=False)
    adapter.send("+8613800138000", "中文走PDU")
    adapter.send("+8613800138000", "price: 5£ [ok]")  # GSM-7, but not the same bytes as ASCII: PDU
    sent = sim.wait_for_sent(3)
    assert [(m.text, m.mode, m.status_report) for m in sent] == [
        ("short text", "text", False),
        ("中文走PDU", "pdu", True),
        ("price: 5£ [ok]", "pdu", True),
    ]
    sim.deliver("+8613900139000", "好的")
    assert next_event(adapter.events(), IncomingSms).text == "好的"
    assert sim.text_mode  # back in text mode after the PDU-mode read


def test_pin_from_config(make_sim, make_adapter):
    sim = make_sim(pin="1234")
    adapter = make_adapter(sim, connect=False)
    with pytest.raises(ConfigError) as err:
        adapter.connect()
    assert "needs a PIN" in err.value.message and "gsm.modems[].pin" in err.value.hint
    wrong = make_adapter(sim, connect=False, pin="0000")
    with pytest.raises(ConfigError, match="refused the PIN"):
        wrong.connect()
    good = make_adapter(sim, pin="1234")
    assert good.health().registered


def test_missing_device_is_unreachable(tmp_path):
    from cc.config import ModemConfig
    from cc.gsm.modem import GsmModemAdapter

    adapter = GsmModemAdapter(ModemConfig(device=str(tmp_path / "ttyUSB9")))
    with pytest.raises(Unreachable) as err:
        adapter.connect()
    assert "cannot open" in err.value.message and err.value.hint


def test_silent_modem_is_unreachable_with_hint(sim, make_adapter, monkeypatch):
    from cc.gsm.modem import _Port

    monkeypatch.setattr(_Port, "_cc_probe", (0.4, 2))
    sim.fault("silence")
    adapter = make_adapter(sim, connect=False)
    started = time.monotonic()
    with pytest.raises(Unreachable) as err:
        adapter.connect()
    assert time.monotonic() - started < 3  # a short "AT" probe, not the library's long set-up timeouts
    assert err.value.message == f"no answer on {sim.device_path}"
    assert "cable and baud rate" in err.value.hint
    sim.fault("clear")
    adapter.connect()
    assert adapter.health().registered


def test_cms_error_becomes_send_rejected(sim, adapter):
    sim.fault("cms_error", code=500)
    with pytest.raises(SendRejected) as err:
        adapter.send("+8613800138000", "hi")
    assert err.value.code == 500 and not err.value.permanent
    sim.fault("cms_error", code=21)
    with pytest.raises(SendRejected) as err:
        adapter.send("+8613800138000", "hi")
    assert err.value.permanent and err.value.hint
    adapter.send("+8613800138000", "hi")  # the modem is fine afterwards
    assert sim.wait_for_sent(1)[0].text == "hi"


def test_send_when_not_connected(sim, make_adapter):
    adapter = make_adapter(sim, connect=False)
    with pytest.raises(Unreachable, match="not connected"):
        adapter.send("+8613800138000", "hi")


def test_text_mode_direct_delivery_and_text_reports(make_sim, make_adapter):
    huawei = make_sim("huawei")
    adapter = make_adapter(huawei, mode="text")
    huawei.deliver("+8613900139000", "确认")  # +CMT in text mode: the UCS2 body comes as hex
    huawei.deliver("+8613900139000", "1234")  # ... and a plain reply that merely looks like hex stays text
    texts = [next_event(adapter.events(), IncomingSms).text for _ in range(2)]
    assert texts == ["确认", "1234"]
    wavecom = make_sim("wavecom")
    adapter2 = make_adapter(wavecom, mode="text")
    (part,) = adapter2.send("+8613800138000", "hello")
    report = next_event(adapter2.events(), StatusReport)
    assert (report.reference, report.recipient, report.delivered) == (part.reference, "+8613800138000", True)


def test_message_references_wrap(make_sim, make_adapter):
    sim = make_sim("simcom")
    sim.next_reference = 255
    adapter = make_adapter(sim)
    parts = adapter.send("+8613800138000", "长" * 100)
    assert [p.reference for p in parts] == [255, 0]
    assert {next_event(adapter.events(), StatusReport).reference for _ in parts} == {255, 0}


def test_reconnect_hands_the_sim_contents_out_again(sim, make_adapter):
    sim.store("+8613900139000", "Y")
    adapter = make_adapter(sim)
    (first,) = adapter.stored_messages()
    adapter.connect()  # e.g. after ModemDown; the caller may not have stored `first` yet
    (again,) = adapter.stored_messages()
    assert again.fingerprint == first.fingerprint
    adapter.delete_stored(first)
    assert sim.stored() == []


def test_concurrent_sends_while_messages_and_reports_pour_in(sim, adapter):
    import threading

    results: list = []

    def sender(tag: str) -> None:
        for i in range(40):
            results.append(adapter.send("+8613800138000", f"{tag} {i} 回复Y" * (1 + i % 3)))

    threads = [threading.Thread(target=sender, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for i in range(30):
        sim.deliver("+8613900139000", f"入站 {i}" * (1 + i % 20))  # some of them multipart
    for t in threads:
        t.join(20)
    parts = [p for sent in results for p in sent]
    assert len(results) == 80 and len(sim.wait_for_sent(80)) == 80
    incoming, reports = [], []
    while len(incoming) < 30 or len(reports) < len(parts):
        event = adapter.events().get(timeout=10)
        (incoming if isinstance(event, IncomingSms) else reports).append(event)
    assert sorted(s.text for s in incoming) == sorted(f"入站 {i}" * (1 + i % 20) for i in range(30))
    assert sorted(r.reference for r in reports) == sorted(p.reference for p in parts)
    for sms in incoming:
        adapter.delete_stored(sms)
    assert [m for m in sim.stored() if m["kind"] == "deliver"] == []


def test_modem_without_new_message_indications_is_polled(tmp_path, make_adapter):
    import dataclasses

    from cc.gsm.personalities import PERSONALITIES
    from cc.gsm.simulator import ModemSimulator

    mute = dataclasses.replace(PERSONALITIES["generic"], name="mute", cnmi_accept=())
    with ModemSimulator(mute, link=tmp_path / "mute0") as sim:
        adapter = make_adapter(sim, connect=False)
        adapter.poll_interval = 0.2
        adapter.connect()
        assert adapter.polling
        sim.deliver("+8613900139000", "Y")  # stored, never announced
        sms = next_event(adapter.events(), IncomingSms)
        assert sms.text == "Y"
        adapter.delete_stored(sms)
        sim.deliver("+8613900139000", "第二条" * 30)
        assert next_event(adapter.events(), IncomingSms).text == "第二条" * 30
        adapter.close()


def test_simulated_customer_replies_through_on_sent(sim, adapter):
    sim.on_sent(lambda message: sim.deliver(message.to, "Y") if "回复Y确认" in message.text else None)
    adapter.send("+8613800138000", "【XX乳业】订单1234：合计¥150.00，回复Y确认，回复N取消" * 3)
    reply = next_event(adapter.events(), IncomingSms)
    assert (reply.sender, reply.text) == ("+8613800138000", "Y")


def test_two_modems_side_by_side(make_sim, make_adapter):
    sims = [make_sim("huawei"), make_sim("simcom")]
    adapters = [make_adapter(s) for s in sims]
    for i, adapter in enumerate(adapters):
        adapter.send("+8613800138000", f"经由模块{i}")
    for i, sim in enumerate(sims):
        assert [m.text for m in sim.wait_for_sent(1)] == [f"经由模块{i}"]
        sim.deliver("+8613900139000", f"回复{i}")
    for i, adapter in enumerate(adapters):
        assert next_event(adapter.events(), IncomingSms).text == f"回复{i}"
    assert [a.health().model for a in adapters] == ["E1550", "SIMCOM_SIM800L"]
