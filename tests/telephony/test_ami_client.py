"""The AMI client against a fake manager on 127.0.0.1 speaking recorded Asterisk 22 transcripts: odd
headers, garbage, partial packets, interleaved answers for two threads, timeouts, a server that closes."""

from __future__ import annotations

import threading
import time

import pytest

from cc.errors import ConfigError, Unreachable
from cc.telephony.ami import (
    DISCONNECTED, RECONNECTED, AmiClient, EventQueue, encode_action, header_values, parse_message, split_messages,
)
from ami_fake import NEWCHANNEL, ODD_HEADERS, VARSET_CHANVARIABLE, FakeAmi, Peer, serve_forever

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def fake():
    servers: list[FakeAmi] = []

    def make(*scripts):
        server = FakeAmi(list(scripts))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()
        assert not server.errors, server.errors


def client(server: FakeAmi, **kwargs) -> AmiClient:
    kwargs.setdefault("timeout", 2.0)
    return AmiClient("127.0.0.1", server.port, "cc", "s3cret", **kwargs)


# -- pure parts ---------------------------------------------------------------------------------------


def test_parse_keeps_repeated_and_odd_headers():
    msg = parse_message(VARSET_CHANVARIABLE.encode())
    assert msg["Event"] == "VarSet"
    assert header_values(msg, "ChanVariable") == ["CC_CALL_TAG=abc123", "CC_AGENT=wang"]
    assert msg["ChanVariable(PJSIP/1001-00000002)"] == "CDR(dst)=1001"
    odd = parse_message(ODD_HEADERS.encode())
    assert odd["UserEvent"] == "CcOdd" and odd["Unicode"] == "您前面还有3位" and odd["Empty"] == ""
    assert "no colon here at all" in odd["Output"] and "Key With Spaces: value" in odd["Output"]
    assert parse_message(b"\xff\xfeEvent: X\r\n")  # bad bytes are replaced, not raised


def test_split_handles_partial_and_bare_newlines():
    blocks, rest = split_messages(b"A: 1\r\n\r\nB: 2\n\nC: 3\r\n")
    assert [parse_message(b) for b in blocks] == [{"A": "1"}, {"B": "2"}]
    assert rest == b"C: 3\r\n"


def test_encode_refuses_header_injection():
    assert encode_action("Ping", "x1").startswith(b"Action: Ping\r\nActionID: x1\r\n")
    with pytest.raises(ValueError):
        encode_action("Originate", "x2", {"Channel": "PJSIP/1\r\nAction: Hangup"})


# -- against the fake server ---------------------------------------------------------------------------


def test_login_action_and_events(fake):
    server = fake(lambda peer: (peer.login(), serve_forever(peer)))
    events = EventQueue()
    ami = client(server)
    ami.subscribe(events)
    ami.connect()
    try:
        assert ami.banner.startswith("Asterisk Call Manager")
        reply = ami.action("Ping")
        assert reply["Response"] == "Success" and reply["Ping"] == "Pong"
        login = server.peers[0].actions[0]
        assert login["Username"] == "cc" and login["Secret"] == "s3cret" and login["Events"] == "on"
    finally:
        ami.close()


def test_odd_events_and_garbage_never_stop_the_reader(fake):
    def script(peer: Peer) -> None:
        peer.login()
        action = peer.read_action()
        peer.send(VARSET_CHANVARIABLE + "garbage without a header\r\n\r\n" + ODD_HEADERS + "\x00\x01\r\n\r\n")
        peer.send(b"Event: Broken\r\nValue: \xff\xfe\xfd\r\n\r\n")
        peer.send(NEWCHANNEL)
        peer.respond(action, "Success", Ping="Pong")
        serve_forever(peer)

    server = fake(script)
    events = EventQueue()
    ami = client(server)
    ami.subscribe(events)
    ami.connect()
    try:
        assert ami.action("Ping")["Ping"] == "Pong"
        assert events.wait_for(Event="VarSet", timeout=2)["ChanVariable"].startswith("CC_CALL_TAG")
        assert events.wait_for(Event="UserEvent", timeout=2)["UserEvent"] == "CcOdd"
        assert events.wait_for(Event="Newchannel", timeout=2)["Uniqueid"] == "1764120000.1"
        assert ami.stats["garbage"] == 2
        assert ami.action("Ping")["Ping"] == "Pong"  # still answering after all that
    finally:
        ami.close()


def test_partial_packets_byte_by_byte(fake):
    def script(peer: Peer) -> None:
        peer.login()
        action = peer.read_action()
        text = NEWCHANNEL + f"Response: Success\r\nActionID: {action['ActionID']}\r\nPing: Pong\r\n\r\n"
        for i in range(0, len(text), 7):  # seven bytes at a time, split mid-line and mid-terminator
            peer.send(text[i:i + 7])
            time.sleep(0.001)
        serve_forever(peer)

    server = fake(script)
    events = EventQueue()
    ami = client(server)
    ami.subscribe(events)
    ami.connect()
    try:
        assert ami.action("Ping")["Ping"] == "Pong"
        assert events.wait_for(Event="Newchannel", timeout=2)["Channel"].endswith(";1")
    finally:
        ami.close()


def test_two_threads_get_their_own_answers_even_when_interleaved(fake):
    def script(peer: Peer) -> None:
        peer.login()
        first, second = peer.read_action(), peer.read_action()
        # Answer the second first, with an event carrying the first's ActionID in between.
        peer.respond(second, "Success", Value=second["Variable"])
        peer.send(f"Event: Newexten\r\nActionID: {first['ActionID']}\r\nApp: Dial\r\n\r\n")
        peer.respond(first, "Success", Value=first["Variable"])
        serve_forever(peer, lambda p, a: p.respond(a, "Success", Value=a.get("Variable", "")))

    server = fake(script)
    ami = client(server).connect()
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def ask(name: str) -> None:
        barrier.wait()
        results[name] = ami.action("Getvar", Variable=name)["Value"]

    try:
        threads = [threading.Thread(target=ask, args=(n,)) for n in ("ALPHA", "BETA")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert results == {"ALPHA": "ALPHA", "BETA": "BETA"}
        # Many threads at once, each still gets its own answer.
        out: dict[int, str] = {}

        def many(i: int) -> None:
            out[i] = ami.action("Getvar", Variable=f"V{i}")["Value"]

        threads = [threading.Thread(target=many, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert out == {i: f"V{i}" for i in range(40)}
    finally:
        ami.close()


def test_every_action_times_out_with_a_hint(fake):
    def script(peer: Peer) -> None:
        peer.login()
        while True:
            peer.read_action(timeout=30)  # never answers

    server = fake(script)
    ami = client(server, timeout=0.5).connect()
    try:
        started = time.monotonic()
        with pytest.raises(Unreachable) as info:
            ami.action("Ping")
        assert 0.4 < time.monotonic() - started < 2
        assert "no answer within" in info.value.message and info.value.hint
    finally:
        ami.close()


def test_list_action_collects_its_events(fake):
    def script(peer: Peer) -> None:
        peer.login()
        action = peer.read_action()
        aid = action["ActionID"]
        peer.send(f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n")
        peer.send(NEWCHANNEL)  # an unrelated event in the middle goes to the subscribers
        for n in (1, 2):
            peer.send(f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/100{n}-0000000{n}\r\n\r\n")
        peer.send(f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n")
        serve_forever(peer)

    server = fake(script)
    events = EventQueue()
    ami = client(server)
    ami.subscribe(events)
    ami.connect()
    try:
        reply, items = ami.action_list("CoreShowChannels")
        assert reply["EventList"] == "start"
        assert [e["Channel"] for e in items] == ["PJSIP/1001-00000001", "PJSIP/1002-00000002"]
        assert events.wait_for(Event="Newchannel", timeout=2)
    finally:
        ami.close()


def test_server_closing_fails_waiters_then_reconnects(fake):
    def dies(peer: Peer) -> None:
        peer.login()
        peer.read_action()  # takes the action, then the "Asterisk restart"
        peer.close()

    server = fake(dies, lambda peer: (peer.login(), serve_forever(peer)))
    events = EventQueue()
    ami = client(server, backoff_max=0.2)
    ami.subscribe(events)
    ami.connect()
    try:
        with pytest.raises(Unreachable) as info:
            ami.action("Ping")
        assert "lost" in info.value.message
        events.wait_for(Event=DISCONNECTED, timeout=2)
        events.wait_for(Event=RECONNECTED, timeout=5)
        assert ami.action("Ping")["Ping"] == "Pong"
        assert ami.stats["reconnects"] == 1
        assert server.peers[1].actions[0]["Action"] == "Login"
    finally:
        ami.close()


def test_actions_during_a_restart_wait_for_the_new_link(fake):
    gate = threading.Event()

    def first(peer: Peer) -> None:
        peer.login()
        peer.close()

    def second(peer: Peer) -> None:
        gate.wait(5)
        peer.login()
        serve_forever(peer)

    server = fake(first, second)
    events = EventQueue()
    ami = client(server, timeout=3, backoff_max=0.1)
    ami.subscribe(events)
    ami.connect()
    try:
        events.wait_for(Event=DISCONNECTED, timeout=2)
        threading.Timer(0.3, gate.set).start()
        assert ami.action("Ping")["Ping"] == "Pong"  # sent while down: waits for the reconnect
    finally:
        ami.close()


def test_refused_login_is_a_config_error(fake):
    server = fake(lambda peer: peer.login(ok=False))
    with pytest.raises(ConfigError) as info:
        client(server).connect()
    assert "refused the login" in info.value.message and "secret" in info.value.hint


def test_nothing_listening_or_not_ami(fake):
    from cc.telephony.asterisk_runtime import free_port

    with pytest.raises(Unreachable) as info:
        AmiClient("127.0.0.1", free_port(), "cc", "x", timeout=1).connect()
    assert info.value.exit_code == 3 and "asterisk.ami" in info.value.hint
    server = fake(lambda peer: peer.send(b"SSH-2.0-OpenSSH_9.2\r\n"))
    with pytest.raises(Unreachable, match="not an Asterisk manager"):
        client(server).connect()


def test_reads_in_big_chunks(fake):
    burst = "".join(NEWCHANNEL.replace("1764120000.1", f"1764120000.{i}") for i in range(3000))

    def script(peer: Peer) -> None:
        peer.login()
        action = peer.read_action()
        peer.send(burst)
        peer.respond(action, "Success", Ping="Pong")
        serve_forever(peer)

    server = fake(script)
    ami = client(server)
    counted = []
    ami.subscribe(lambda e: counted.append(1) if e.get("Event") == "Newchannel" else None)
    ami.connect()
    try:
        started = time.monotonic()
        assert ami.action("Ping")["Ping"] == "Pong"
        elapsed = time.monotonic() - started
        assert len(counted) == 3000
        assert ami.stats["reads"] < 200  # ~1 MB in 64 KiB reads, not one byte per read
        assert elapsed < 2
    finally:
        ami.close()


def test_a_failing_subscriber_does_not_stop_the_reader(fake):
    def script(peer: Peer) -> None:
        peer.login()
        action = peer.read_action()
        peer.send(NEWCHANNEL)
        peer.respond(action, "Success", Ping="Pong")
        serve_forever(peer)

    server = fake(script)
    ami = client(server)

    def broken(event):
        raise RuntimeError("subscriber bug")

    ami.subscribe(broken)
    ami.connect()
    try:
        assert ami.action("Ping")["Ping"] == "Pong"
        assert ami.action("Ping")["Ping"] == "Pong"
    finally:
        ami.close()
