"""The simulator alone, spoken to over its pty with plain os.read/os.write (no library)."""

from __future__ import annotations

import os
import select
import time

import pytest

from cc.gsm import pdu
from cc.gsm.simulator import ModemSimulator, control_request

pytestmark = pytest.mark.timeout(30)


class Terminal:
    def __init__(self, path: str) -> None:
        import tty

        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self.buf = b""

    def read_until(self, marker: bytes, timeout: float = 3.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {marker!r} in {self.buf!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                self.buf += os.read(self.fd, 4096)
        head, _, self.buf = self.buf.partition(marker)
        return head + marker

    def cmd(self, line: str, until: bytes = b"OK\r\n") -> str:
        os.write(self.fd, line.encode() + b"\r")
        return self.read_until(until).decode("utf-8", "replace")

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def term(sim):
    t = Terminal(sim.device_path)
    t.cmd("ATE0")
    yield t
    t.close()


def test_device_path_is_a_symlink_to_a_pty(sim):
    assert os.path.islink(sim.device_path)
    assert os.readlink(sim.device_path).startswith("/dev/pts/")


def test_identity_network_and_echo(sim):
    t = Terminal(sim.device_path)
    try:
        assert "AT\r" in t.cmd("AT")  # echo is on after power-up
        t.cmd("ATE0")
        assert t.cmd("AT+CGMI").strip().startswith("Generic")
        assert "+CSQ: 21,99" in t.cmd("AT+CSQ")
        assert "+CREG: 0,1" in t.cmd("AT+CREG?")
        assert '"CHINA MOBILE"' in t.cmd("AT+COPS?")
        assert "ERROR" in t.cmd("AT+NONSENSE", b"ERROR\r\n")
    finally:
        t.close()


def test_pdu_send_records_message_and_reports(sim, term):
    term.cmd("AT+CNMI=2,1,0,1,0")
    (part,) = pdu.encode_submit("+8613800138000", "订单1234 请回复Y", status_report=True)
    os.write(term.fd, f"AT+CMGS={part.tpdu_length}\r".encode())
    term.read_until(b"> ")
    os.write(term.fd, part.hex.encode() + b"\x1a")
    assert "+CMGS: 0" in term.read_until(b"OK\r\n").decode()
    (sent,) = sim.wait_for_sent(1)
    assert (sent.to, sent.text, sent.status_report) == ("+8613800138000", "订单1234 请回复Y", True)
    report = term.read_until(b"\r\n", timeout=3) + term.read_until(b"\r\n") + term.read_until(b"\r\n")
    lines = [x for x in report.decode().split("\r\n") if x]
    assert lines[0].startswith("+CDS:")
    decoded = pdu.decode(lines[1])
    assert (decoded.type, decoded.reference, decoded.status) == ("SMS-STATUS-REPORT", 0, 0)


def test_bad_pdu_length_is_refused(term):
    (part,) = pdu.encode_submit("+8613800138000", "hi", status_report=False)
    os.write(term.fd, f"AT+CMGS={part.tpdu_length + 3}\r".encode())
    term.read_until(b"> ")
    os.write(term.fd, part.hex.encode() + b"\x1a")
    assert "+CMS ERROR: 304" in term.read_until(b"+CMS ERROR: 304\r\n").decode()


def test_text_mode_send_and_read(sim, term):
    term.cmd("AT+CMGF=1")
    os.write(term.fd, b'AT+CMGS="+8613800138000"\r')
    term.read_until(b"> ")
    os.write(term.fd, b"Hello\x1a")
    assert "+CMGS:" in term.read_until(b"OK\r\n").decode()
    assert sim.wait_for_sent(1)[0].text == "Hello"
    sim.store("+8613900139000", "Y")
    out = term.cmd("AT+CMGR=1")
    assert '"REC UNREAD","+8613900139000"' in out and "\r\nY\r\n" in out


def test_deliver_stores_and_announces_with_cmti(sim, term):
    term.cmd("AT+CNMI=2,1,0,2")
    indexes = sim.deliver("+8613900139000", "长" * 100)  # two UCS2 parts
    assert indexes == [1, 2]
    note = term.read_until(b'+CMTI: "SM",2\r\n').decode()
    assert '+CMTI: "SM",1' in note
    listing = term.cmd("AT+CMGL=4")
    assert listing.count("+CMGL:") == 2
    term.cmd("AT+CMGD=1")
    assert "+CMS ERROR: 321" in term.cmd("AT+CMGR=1", b"\r\n+CMS ERROR: 321\r\n")


def test_pin_required(make_sim):
    sim = make_sim(pin="1234")
    t = Terminal(sim.device_path)
    try:
        t.cmd("ATE0")
        assert "+CPIN: SIM PIN" in t.cmd("AT+CPIN?")
        assert "+CME ERROR: 16" in t.cmd('AT+CPIN="0000"', b"+CME ERROR: 16\r\n")
        t.cmd('AT+CPIN="1234"')
        assert "+CPIN: READY" in t.cmd("AT+CPIN?")
    finally:
        t.close()


@pytest.mark.parametrize(
    ("personality", "command", "answer"),
    [
        ("simcom", "AT+CLAC", b"ERROR\r\n"),
        ("wavecom", "AT+CMEE=1", b"ERROR\r\n"),
        ("quectel", 'AT+CPMS="ME","ME","ME"', b"+CMS ERROR: 302\r\n"),
        ("huawei", "AT+FOO", b"COMMAND NOT SUPPORT\r\n"),
    ],
)
def test_personality_quirks(make_sim, personality, command, answer):
    sim = make_sim(personality)
    t = Terminal(sim.device_path)
    try:
        t.cmd("ATE0")
        assert answer.decode().strip() in t.cmd(command, answer)
    finally:
        t.close()


def test_faults_error_silence_and_unplug_replug(sim, term):
    sim.fault("error", command="AT+CSQ")
    assert "ERROR" in term.cmd("AT+CSQ", b"ERROR\r\n")
    assert "+CSQ:" in term.cmd("AT+CSQ")
    sim.fault("silence", seconds=0.3)
    os.write(term.fd, b"AT\r")
    r, _, _ = select.select([term.fd], [], [], 0.2)
    assert not r
    time.sleep(0.15)  # let the silence end (it is a timed fault)
    assert "OK" in term.cmd("AT")
    old = os.readlink(sim.device_path)
    sim.fault("unplug")
    assert not os.path.exists(sim.device_path)
    try:  # the line is hung up: end of file or EIO, as a pulled USB modem gives
        assert os.read(term.fd, 10) == b""
    except OSError:
        pass
    sim.fault("replug")
    assert os.path.islink(sim.device_path)
    t2 = Terminal(sim.device_path)
    try:
        assert "OK" in t2.cmd("AT")
    finally:
        t2.close()
    assert os.readlink(sim.device_path).startswith("/dev/pts/")
    del old


def test_control_socket_deliver_sent_and_fault(make_sim, tmp_path):
    control = tmp_path / "sim.sock"
    sim = make_sim(control=control)
    assert control_request(control, {"cmd": "ping"})["device"] == sim.device_path
    control_request(control, {"cmd": "deliver", "from": "+8613900139000", "text": "Y"})
    assert sim.stored()[0]["text"] == "Y"
    control_request(control, {"cmd": "fault", "kind": "no_network"})
    assert sim._no_network
    with pytest.raises(RuntimeError, match="unknown fault"):
        control_request(control, {"cmd": "fault", "kind": "meteor"})
    assert control_request(control, {"cmd": "sent"})["messages"] == []


def test_control_socket_missing():
    with pytest.raises(ConnectionError):
        control_request("/nonexistent/sim.sock", {"cmd": "ping"})


def test_unknown_personality():
    with pytest.raises(ValueError, match="unknown personality"):
        ModemSimulator("nokia")


def test_client_killed_at_the_sms_prompt_leaves_a_usable_modem(sim):
    # Repeated: whether the simulator reads the half PDU before it sees the hang-up is a race (under load
    # one round in ten once left it for the next program); every round must end the same.
    for _ in range(10):
        t = Terminal(sim.device_path)
        t.cmd("ATE0")
        os.write(t.fd, b"AT+CMGS=20\r")
        t.read_until(b"> ")
        os.write(t.fd, b"0011000D9168")  # half a PDU, then the program dies
        t.close()
        deadline = time.monotonic() + 3
        while sim.client_connected and time.monotonic() < deadline:  # a restarted program comes back later
            time.sleep(0.001)
        assert not sim.client_connected
        t2 = Terminal(sim.device_path)
        try:
            assert "OK" in t2.cmd("AT")  # the hang-up (DTR drop) ended the SMS input, and took the half PDU
            assert sim.sent_messages() == []
        finally:
            t2.close()
        deadline = time.monotonic() + 3
        while sim.client_connected and time.monotonic() < deadline:
            time.sleep(0.001)


def test_escape_cancels_the_sms_prompt(sim, term):
    os.write(term.fd, b"AT+CMGS=20\r")
    term.read_until(b"> ")
    os.write(term.fd, b"0011\x1b")
    term.read_until(b"OK\r\n")
    os.write(term.fd, b"\x1bAT\r")  # an ESC in command mode is ignored
    assert "OK" in term.read_until(b"OK\r\n").decode()


def test_full_sim_holds_new_messages_until_there_is_room(sim, term):
    term.cmd("AT+CNMI=2,1,0,2")
    for i in range(50):
        sim.store("+8613900139000", f"old {i}")
    assert sim.deliver("+8613900139000", "new") == []  # no room: the network keeps it
    term.cmd("AT+CMGD=7")
    assert '+CMTI: "SM",7' in term.read_until(b'+CMTI: "SM",7\r\n').decode()
    pdu_line = [x for x in term.cmd("AT+CMGR=7").split("\r\n") if x][1]
    assert pdu.decode(pdu_line).text == "new"
