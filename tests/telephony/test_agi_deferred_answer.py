"""ANSWER overlapped with the caller's lookup (``AgiChannel.begin_answer``): a hang-up during ANSWER still
ends the call before any node, a deferred reply is never read as another command's, and the added-latency
clock counts the time a reply waited for us."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from ivr_agi_fakes import FakeCaller, play_asterisk

from cc.clock import FrozenClock
from cc.config import Config
from cc.services.ports import CallerHungUp
from cc.store.calls import CallStore, connect
from cc.telephony import handlers
from cc.telephony.agi import socket_agi


@pytest.fixture
def site(tmp_path):
    config = Config(db=str(tmp_path / "cc.db"))
    config.ivr.prompts_dir = str(tmp_path / "prompts")
    config.ivr.voicemail_dir = str(tmp_path / "rec")
    runtime = handlers.build_runtime(config, clock=FrozenClock())
    store = CallStore(connect(config.db))
    yield config, runtime, store
    store.close()


def _run(site, caller: FakeCaller) -> dict:
    config, runtime, store = site
    ours, theirs = socket.socketpair()
    peer = threading.Thread(target=play_asterisk, args=(theirs, caller), daemon=True)
    peer.start()
    with ours:
        handlers.handle(socket_agi(ours), runtime, config)
    peer.join(10)
    row = store.get_call(caller.uniqueid)
    row["events"] = [(e["kind"], e["node"]) for e in store.events(caller.uniqueid)]
    return row


def test_a_hang_up_during_answer_ends_the_call_before_any_node(site):
    row = _run(site, FakeCaller(uniqueid="h1", hangup_at="ANSWER"))
    assert row["result"] == "abandoned" and row["reason"].startswith("caller hung up (")
    assert row["answered_at"] is None and row["path"] == "[]"
    assert row["events"] == [("start", ""), ("hangup", ""), ("end", "")]


def test_a_normal_call_answers_then_classifies_as_before(site):
    caller = FakeCaller(uniqueid="n1", keys=["1"])
    row = _run(site, caller)
    assert caller.commands()[0] == "ANSWER" and caller.commands()[1].startswith("STREAM FILE")
    assert row["answered_at"] and row["result"] == "queued"
    assert row["events"][:2] == [("start", ""), ("classify", "")]


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    """A connected TCP pair on 127.0.0.1 (the kernel stamps TCP arrivals; a Unix socket pair it does not)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        theirs = socket.create_connection(listener.getsockname())
        ours, _ = listener.accept()
    return ours, theirs


def _session(replies: bytes, tcp: bool = True):
    ours, theirs = _tcp_pair() if tcp else socket.socketpair()
    theirs.sendall(b"agi_request: x\n\n")
    agi = socket_agi(ours)
    theirs.sendall(replies)
    return agi, ours, theirs


def test_the_next_command_reads_a_deferred_reply_first():
    agi, ours, theirs = _session(b"200 result=0\n200 result=1\n")
    with ours, theirs:
        agi.send_deferred("ANSWER")
        assert agi.execute("SET VARIABLE", "X", '"1"')["result"] == ("1", "")  # not ANSWER's "0"
        assert agi.collect() is None


def test_a_hang_up_in_a_deferred_reply_is_raised_by_collect():
    agi, ours, theirs = _session(b"HANGUP\n")
    with ours, theirs:
        agi.send_deferred("ANSWER")
        with pytest.raises(CallerHungUp):
            agi.collect()
        assert agi.hung_up


def test_the_clock_counts_the_time_a_reply_waited_for_us():
    agi, ours, theirs = _session(b"200 result=0\n")  # the reply is there before we look
    with ours, theirs:
        agi.send_deferred("ANSWER")
        time.sleep(0.05)  # our own work while Asterisk answers (it answered at once)
        agi.collect()
        theirs.sendall(b"200 result=0\n")
        agi.execute("STREAM FILE", "x", '""')
        command, from_read, from_arrival = agi.gaps[-1]
        assert command == "STREAM FILE"
        assert from_read >= 0.045 and from_arrival >= 0.045
        # a reply we were waiting for (Asterisk took 50 ms): that wait is Asterisk's, not ours
        timer = threading.Timer(0.05, theirs.sendall, args=(b"200 result=0\n",))
        timer.start()
        agi.execute("WAIT FOR DIGIT", 10)
        timer.join()
        theirs.sendall(b"200 result=1\n")
        agi.execute("HANGUP")
        command, from_read, from_arrival = agi.gaps[-1]
        assert command == "HANGUP" and from_read < 0.02 and from_arrival < 0.02


def test_without_arrival_times_all_since_the_deferred_send_counts_as_ours():
    agi, ours, theirs = _session(b"200 result=0\n", tcp=False)
    with ours, theirs:
        agi.send_deferred("ANSWER")
        time.sleep(0.03)
        agi.collect()
        theirs.sendall(b"200 result=0\n")
        agi.execute("STREAM FILE", "x", '""')
        assert agi.gaps[-1][1] >= 0.025 and agi.gaps[-1][2] >= 0.025
