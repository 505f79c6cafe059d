"""The FastAGI server on 127.0.0.1: routing, a garbage peer, a peer closing mid-command, 50 concurrent
calls, and a clean stop."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import pytest
from ivr_agi_fakes import FakeCaller, play_asterisk

from cc.clock import FrozenClock
from cc.config import Config
from cc.store.calls import CallStore, connect
from cc.telephony import server as agi_server


@pytest.fixture
def running(tmp_path):
    config = Config(db=str(tmp_path / "cc.db"))
    config.ivr.prompts_dir = str(tmp_path / "prompts")
    config.ivr.voicemail_dir = str(tmp_path / "rec")
    srv = agi_server.make_server(config, "127.0.0.1", 0, runtime=None)
    srv.runtime.clock = FrozenClock()
    srv.start()
    store = CallStore(connect(config.db))
    yield srv, store
    assert srv.stop(drain_seconds=5)
    store.close()


def dial(srv, caller: FakeCaller) -> FakeCaller:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    play_asterisk(sock, caller)
    return caller


def wait_calls(store: CallStore, count: int, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in store.list_calls(limit=1000) if r["ended_at"]]
        if len(rows) >= count:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"only {len(rows)} of {count} calls ended in {timeout}s")


def test_routes_by_script_name(running):
    srv, store = running
    dial(srv, FakeCaller(script="staff", keys=["1", "1"], uniqueid="s1"))
    row = [r for r in wait_calls(store, 1) if r["id"] == "s1"][0]
    assert row["script"] == "staff" and json.loads(row["path"])[:2] == ["staff_menu", "record_welcome"]
    assert row["result"] == "greeting"


def test_garbage_peer_and_mid_command_close_leave_the_server_serving(running):
    srv, store = running
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    raw.settimeout(5)
    assert raw.recv(100) == b""  # the server hung up on it
    raw.close()
    dial(srv, FakeCaller(uniqueid="c1", close_at="WAIT FOR DIGIT"))
    dial(srv, FakeCaller(uniqueid="g1", garbage_at="STREAM FILE"))
    ok = dial(srv, FakeCaller(uniqueid="ok", keys=["1"]))
    rows = {r["id"]: r for r in wait_calls(store, 4)}
    assert rows["c1"]["result"] == "abandoned" and "connection closed" in rows["c1"]["reason"]
    assert rows["g1"]["result"] == "error" and "unexpected reply" in rows["g1"]["reason"]
    assert rows["ok"]["result"] == "queued" and ok.commands()[0] == "ANSWER"
    bad = [r for r in rows.values() if r["id"] not in ("c1", "g1", "ok")]
    assert len(bad) == 1 and bad[0]["result"] == "error" and "bad AGI session start" in bad[0]["reason"]


def test_fifty_concurrent_calls(running):
    srv, store = running
    callers = [FakeCaller(uniqueid=f"u{i}", callerid=f"1370000{i:04d}", keys=["1"]) for i in range(50)]
    threads = [threading.Thread(target=dial, args=(srv, c)) for c in callers]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - started
    rows = wait_calls(store, 50)
    assert sorted(r["result"] for r in rows) == ["queued"] * 50
    assert all(c.done.is_set() and c.error is None for c in callers)
    assert elapsed < 15


def test_serve_stops_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "CC_DB": str(tmp_path / "cc.db")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cc", "agi", "serve", "--port", "0"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        line = ""
        for _ in range(20):  # log lines may come first (e.g. the background checkpointer's warning)
            line = proc.stderr.readline()
            if "serving FastAGI" in line or not line:
                break
        assert "serving FastAGI on 127.0.0.1:" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped after 0 calls" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_an_imported_tree_applies_to_the_next_call_without_restart(running, tmp_path):
    from cc.clock import FrozenClock
    from cc.services.ivr import DEFAULT_TREE, IvrService

    srv, store = running
    dial(srv, FakeCaller(uniqueid="before", keys=["1"]))
    wait_calls(store, 1)
    changed = tmp_path / "changed.yaml"
    changed.write_text(DEFAULT_TREE.read_text(encoding="utf-8").replace('"1": order_agent', '"1": voicemail').replace('"0": operator', '"0": order_agent'),
                       encoding="utf-8")
    IvrService(store, FrozenClock(), tmp_path / "prompts").import_tree(changed)
    dial(srv, FakeCaller(uniqueid="after", keys=["1"]))
    rows = {r["id"]: r for r in wait_calls(store, 2)}
    assert json.loads(rows["before"]["path"])[2] == "order_agent"
    assert json.loads(rows["after"]["path"])[2] == "voicemail" and rows["after"]["result"] == "voicemail"
    assert rows["after"]["tree_id"] == rows["before"]["tree_id"] + 1


def test_workers_share_the_port_and_stop_together(tmp_path):
    """``cc agi serve --workers 2``: two processes accept calls on one port; every call is served and
    recorded once; SIGTERM stops both and the parent reports the calls they served."""
    import os
    import signal
    import subprocess
    import sys

    db = tmp_path / "cc.db"
    env = {**os.environ, "CC_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "cc", "agi", "serve", "--port", "0", "--workers", "2"],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        for _ in range(20):
            line = proc.stderr.readline()
            if "serving FastAGI" in line or not line:
                break
        assert "serving FastAGI on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split()[0])
        srv = type("Listening", (), {"port": port})()
        callers = [FakeCaller(uniqueid=f"w{i}", callerid=f"1370000{i:04d}", keys=["1"]) for i in range(40)]
        threads = [threading.Thread(target=dial, args=(srv, c)) for c in callers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        store = CallStore(connect(str(db)))
        try:
            rows = wait_calls(store, 40)
            assert sorted(r["id"] for r in rows) == sorted(f"w{i}" for i in range(40))
            assert {r["result"] for r in rows} == {"queued"}
            deadline = time.monotonic() + 10  # each worker's heartbeat: both are up
            names: set = set()
            while time.monotonic() < deadline and len(names) < 2:
                names = {r[0] for r in store.conn.execute("SELECT name FROM agi_servers").fetchall()}
                time.sleep(0.05)
            assert {n.rsplit("#", 1)[1] for n in names} == {"0", "1"}, names
        finally:
            store.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "stopped after 40 calls" in proc.stderr.read()
        check = sqlite3.connect(db)
        try:  # each worker's own count, written at its clean stop
            served = dict(check.execute("SELECT name, total_calls FROM agi_servers WHERE stopped_at IS NOT NULL"))
        finally:
            check.close()
        assert len(served) == 2 and sum(served.values()) == 40, served
    finally:
        if proc.poll() is None:
            proc.kill()
