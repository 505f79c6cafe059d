"""The bare python-gsmmodem-new 0.13.0 against the simulator: proof that each defect of issue #3 is real and
that the simulator provokes it on demand. (tests/gsm/test_defects.py shows our adapter containing it.)
If one of these starts failing, the library changed: re-check the matching work-around in cc/gsm/modem.py."""

from __future__ import annotations

import queue
import sqlite3
import threading

import pytest
from gsmmodem.exceptions import CommandError, TimeoutException
from gsmmodem.modem import GsmModem, SentSms
from gsmmodem.serial_comms import SerialComms

pytestmark = [
    pytest.mark.timeout(30),
    # the bare library's notification threads die of TimeoutException once a test closes its modem
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]
PHONE, CUSTOMER = "+8613800138000", "+8613900139000"


@pytest.fixture
def raw():
    modems = []

    def make(sim, **kw):
        received: queue.Queue = queue.Queue()
        reports: queue.Queue = queue.Queue()
        modem = GsmModem(sim.device_path, smsReceivedCallbackFunc=received.put, smsStatusReportCallback=reports.put, **kw)
        modem.timeout = 0.1  # serial read timeout: close() returns quickly
        modems.append(modem)
        modem.connect()
        return modem, received, reports

    yield make
    for modem in modems:
        modem.alive = False
        try:
            modem.close()
        except Exception:  # noqa: BLE001 - some are dead on purpose
            pass
        waiting = getattr(modem, "_responseEvent", None)
        if waiting is not None:
            waiting.set()  # a notification thread waiting for an answer stops waiting now
    # The library handles each notification in a thread of its own (another of its edges: cc's adapter only
    # enqueues them). One still waiting for the closed modem's answer ends with an uncaught TimeoutException:
    # wait for it here, inside this test, so the warning is this module's (filtered below), not a later test's.
    for thread in threading.enumerate():
        if "ModemNotification" in thread.name:
            thread.join(timeout=15)


def _none_within(q: queue.Queue, seconds: float) -> bool:
    try:
        q.get(timeout=seconds)
    except queue.Empty:
        return True
    return False


def test_library_handles_only_the_first_of_two_cmti(sim, raw):
    _, received, _ = raw(sim)
    sim.fault("burst", count=2)
    assert received.get(timeout=3).text == "burst 1"
    assert _none_within(received, 0.5)  # "burst 2" stays on the SIM, unannounced


def test_library_ignores_cmt_direct_delivery(make_sim, raw):
    sim = make_sim("huawei")
    _, received, _ = raw(sim)
    sim.deliver(CUSTOMER, "Y")
    assert _none_within(received, 0.5)


def test_library_loses_a_split_cds(sim, raw):
    modem, _, reports = raw(sim, AT_CNMI="2,1,0,1,0")  # status reports as "+CDS: n" + PDU
    modem.sendSms(PHONE, "whole")
    assert reports.get(timeout=3).reference == sim.sent_parts()[0].reference  # in one piece: handled
    sim.fault("split", count=1, pause=0.3)
    modem.sendSms(PHONE, "split")
    assert _none_within(reports, 1.0)


def test_library_emoji_send_raises_and_receive_gives_lone_surrogates(sim, raw, tmp_path):
    modem, received, _ = raw(sim)
    with pytest.raises(ValueError):
        modem.sendSms(PHONE, "好的👍")
    sim.deliver(CUSTOMER, "👍")
    text = received.get(timeout=3).text
    assert text == "\ud83d\udc4d"  # two lone surrogates
    with pytest.raises(UnicodeEncodeError):
        sqlite3.connect(tmp_path / "t.db").execute("select ?", (text,))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_library_reader_dies_of_one_bad_byte(sim, raw):
    modem, _, _ = raw(sim)
    sim.fault("bad_byte")
    modem.rxThread.join(3)
    assert not modem.rxThread.is_alive()
    with pytest.raises(TimeoutException):
        modem.write("AT", timeout=0.3)


def test_library_does_not_reassemble_multipart(sim, raw):
    _, received, _ = raw(sim)
    sim.deliver(CUSTOMER, "长" * 100, gap=0.2)  # two parts, announced apart so the library sees both
    first, second = received.get(timeout=3), received.get(timeout=3)
    assert {len(first.text), len(second.text)} == {67, 33}


def test_library_pdu_send_always_requests_a_report(sim, raw):
    modem, _, _ = raw(sim, requestDelivery=False)
    modem.sendSms(PHONE, "no report please")
    assert sim.wait_for_sent(1)[0].status_report is True


def test_library_report_wait_wakes_on_any_report(make_sim, raw):
    sim = make_sim(auto_report=False)
    modem, _, _ = raw(sim)
    result: list = []
    waiter = threading.Thread(target=lambda: result.append(modem.sendSms(PHONE, "A", waitForDeliveryReport=True, deliveryTimeout=5)))
    waiter.start()
    (sent,) = sim.wait_for_sent(1)
    sim.send_status_report((sent.references[0] + 7) % 256, recipient="+8613800138999")  # someone else's report
    waiter.join(3)
    assert result and result[0].status == SentSms.ENROUTE  # woke up, yet its own report never came


def test_library_forces_hardware_flow_control(sim):
    port = SerialComms(sim.device_path)
    port.timeout = 0.1
    port.connect()
    try:
        assert sim.client_rtscts()
    finally:
        port.close()


def test_library_does_not_survive_unplug(sim, raw):
    modem, _, _ = raw(sim)
    sim.fault("unplug")
    modem.rxThread.join(3)
    assert not modem.alive
    sim.fault("replug")
    with pytest.raises(Exception):  # noqa: B017,PT011 - the same object stays dead: a new GsmModem is needed
        modem.write("AT", timeout=0.3)


@pytest.mark.parametrize("personality", ["wavecom", "quectel"])
def test_library_connect_aborts_on_a_rejected_optional_command(make_sim, personality):
    sim = make_sim(personality)
    modem = GsmModem(sim.device_path)
    modem.timeout = 0.1
    try:
        with pytest.raises(CommandError):
            modem.connect()
    finally:
        modem.close()
