"""The FastAGI event loop (cc.telephony.loop) and the socket stream on it: calls interleave on one thread,
waits time out, blocking work runs on its own thread while the other calls go on; off the loop the stream
blocks, with its timeout in the kernel. And the server over it: a call held by the ACD does not hold up
the others; a call that outlives the drain is cut at stop, and its record says so."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from ivr_agi_fakes import FakeCaller, play_asterisk

from cc.clock import FrozenClock
from cc.config import Config
from cc.store.calls import CallStore, connect
from cc.telephony import loop
from cc.telephony import server as agi_server
from cc.telephony.agi import SocketLines

BOUND = 10.0  # seconds any wait in these tests may take before it counts as a failure


@pytest.fixture
def hub():
    running = loop.Hub()
    thread = threading.Thread(target=running.run, name="test-hub", daemon=True)
    thread.start()
    yield running
    running.stop()
    thread.join(BOUND)
    assert not thread.is_alive()
    running.close()


def spawn(hub: loop.Hub, fn, *args) -> threading.Event:
    """Start ``fn`` as a call on the hub; the event is set when it has returned."""
    done = threading.Event()

    def call() -> None:
        try:
            fn(*args)
        finally:
            done.set()

    hub.post(lambda: hub.spawn(call))
    return done


@pytest.fixture
def pairs():
    made: list[socket.socket] = []

    def make() -> tuple[socket.socket, socket.socket]:
        ours, peer = socket.socketpair()
        made.extend((ours, peer))
        return ours, peer

    yield make
    for sock in made:
        sock.close()


def test_calls_interleave_on_the_loop_thread(hub, pairs):
    order: list[tuple[str, str, str]] = []
    (a, a_peer), (b, b_peer) = pairs(), pairs()

    def call(name: str, sock: socket.socket) -> None:
        line = SocketLines(sock).readline()
        order.append((name, line.strip(), threading.current_thread().name))

    a_done = spawn(hub, call, "a", a)
    b_done = spawn(hub, call, "b", b)
    b_peer.sendall(b"200 result=0\n")  # b's reply comes first: b finishes while a is still waiting
    assert b_done.wait(BOUND) and not a_done.is_set()
    a_peer.sendall(b"200 result=1\n")
    assert a_done.wait(BOUND)
    assert order == [("b", "200 result=0", "test-hub"), ("a", "200 result=1", "test-hub")]


def test_a_wait_on_the_loop_times_out(hub, pairs):
    ours, _peer = pairs()
    outcome: list[object] = []

    def call() -> None:
        stream = SocketLines(ours)
        stream.set_timeout(0.05)
        try:
            stream.readline()
        except TimeoutError as exc:
            outcome.append(exc)

    assert spawn(hub, call).wait(BOUND)
    assert len(outcome) == 1 and isinstance(outcome[0], TimeoutError)


def test_blocking_work_runs_on_its_own_thread_while_the_loop_goes_on(hub):
    released = threading.Event()
    result: list[str] = []

    def slow() -> str:
        assert released.wait(BOUND), "the loop was held up: the other call never ran"
        return threading.current_thread().name

    def held_call() -> None:
        result.append(loop.blocking(slow))

    held = spawn(hub, held_call)
    other = spawn(hub, released.set)  # runs on the loop while the first call's work blocks
    assert other.wait(BOUND) and held.wait(BOUND)
    assert result and result[0] != "test-hub"


def test_blocking_hands_exceptions_back_to_the_call(hub):
    caught: list[BaseException] = []

    def fails() -> None:
        raise LookupError("no agent")

    def call() -> None:
        try:
            loop.blocking(fails)
        except LookupError as exc:
            caught.append(exc)

    assert spawn(hub, call).wait(BOUND)
    assert [str(e) for e in caught] == ["no agent"]


def test_off_the_loop_blocking_calls_directly_and_the_stream_blocks(pairs):
    assert loop.blocking(threading.current_thread) is threading.current_thread()
    ours, peer = pairs()
    stream = SocketLines(ours)
    stream.set_timeout(0.05)
    with pytest.raises(TimeoutError):
        stream.readline()
    stream.set_timeout(BOUND)
    threading.Timer(0.05, peer.sendall, args=(b"200 result=0 endpos=8000\n",)).start()
    assert stream.readline() == "200 result=0 endpos=8000\n"


@pytest.fixture
def running(tmp_path):
    config = Config(db=str(tmp_path / "cc.db"))
    config.ivr.prompts_dir = str(tmp_path / "prompts")
    config.ivr.voicemail_dir = str(tmp_path / "rec")
    srv = agi_server.make_server(config, "127.0.0.1", 0)
    srv.runtime.clock = FrozenClock()
    srv.start()
    store = CallStore(connect(config.db))
    yield srv, store
    srv.stop(drain_seconds=5)
    store.close()


def ended_calls(store: CallStore, count: int) -> dict[str, dict]:
    deadline = time.monotonic() + BOUND
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = [r for r in store.list_calls(limit=100) if r["ended_at"]]
        if len(rows) >= count:
            return {r["id"]: r for r in rows}
        time.sleep(0.02)
    raise AssertionError(f"only {len(rows)} of {count} calls ended in {BOUND}s")


def test_a_caller_held_by_the_acd_does_not_hold_up_other_calls(running, monkeypatch):
    from cc.telephony import queue_handler

    srv, store = running
    entered, released = threading.Event(), threading.Event()
    seen: list[str] = []

    def hold(call, queue):  # stands in for the ACD: holds the caller until released
        seen.append(threading.current_thread().name)
        entered.set()
        assert released.wait(BOUND)
        return None

    monkeypatch.setattr(queue_handler, "make_hook", lambda config, clock: hold)
    held = FakeCaller(uniqueid="held", keys=["1"])
    threading.Thread(target=play_asterisk, args=(socket.create_connection(("127.0.0.1", srv.port), timeout=5), held),
                     daemon=True).start()
    assert entered.wait(BOUND)
    other = FakeCaller(uniqueid="other", hangup_at="WAIT FOR DIGIT")
    play_asterisk(socket.create_connection(("127.0.0.1", srv.port), timeout=5), other)
    rows = ended_calls(store, 1)
    assert list(rows) == ["other"] and rows["other"]["result"] == "abandoned"
    released.set()
    assert held.done.wait(BOUND)
    assert ended_calls(store, 2)["held"]["result"] == "queued"
    assert seen and seen[0] != "fastagi"


def test_a_call_outliving_the_drain_is_cut_and_recorded(running):
    srv, store = running
    stuck = socket.create_connection(("127.0.0.1", srv.port), timeout=BOUND)
    try:
        stuck.sendall(FakeCaller(uniqueid="stuck").env_lines().encode())
        stuck.settimeout(BOUND)
        assert stuck.recv(100).startswith(b"ANSWER")  # then Asterisk never replies
        assert srv.stop(drain_seconds=0.2) is False
        assert not srv._thread.is_alive()
        assert stuck.recv(100) == b""  # the server closed its end
    finally:
        stuck.close()
    row = ended_calls(store, 1)["stuck"]
    assert row["result"] == "abandoned" and row["reason"] == "cut when the AGI server stopped"
