"""The FastAGI server's heartbeat row (agi_servers) and what the wallboard makes of it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from cc.clock import FrozenClock
from cc.config import Config
from cc.services.container import build_services
from cc.store.db import open_db
from cc.store.wallboard import AgiHeartbeat


def _row(path):  # noqa: ANN001, ANN202
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT name, pid, heartbeat_at, stopped_at, active_calls FROM agi_servers").fetchone()
    finally:
        conn.close()


def test_heartbeat_ticks_when_due_and_never_raises(tmp_path):
    path = tmp_path / "cc.db"
    open_db(path).conn.close()
    clock = FrozenClock("2026-11-26T02:00:00+00:00")
    beat = AgiHeartbeat(str(path), "127.0.0.1:4573", clock=clock, every=3600)
    assert beat.tick(1, 5) and not beat.tick(2, 6)  # the second is not due yet
    assert _row(path) == ("127.0.0.1:4573", os.getpid(), "2026-11-26T02:00:00.000+00:00", None, 1)
    clock.advance(10)
    assert beat.stopped()
    assert _row(path)[2:4] == ("2026-11-26T02:00:10.000+00:00", "2026-11-26T02:00:10.000+00:00")
    assert not AgiHeartbeat(str(tmp_path / "no" / "such.db"), "x").beat(0, 0)  # skipped, not raised


def test_served_agi_server_shows_up_then_down_on_the_wallboard(tmp_path):
    path = tmp_path / "cc.db"
    env = {**os.environ, "CC_DB": str(path)}
    proc = subprocess.Popen([sys.executable, "-m", "cc", "agi", "serve", "--port", "0"], env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert "serving FastAGI on 127.0.0.1:" in proc.stderr.readline()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _row(path) is None:
            time.sleep(0.05)  # bounded poll of another process's write
        row = _row(path)
        assert row is not None and row[1] == proc.pid and row[3] is None
        agi = build_services(Config(db=str(path))).wallboard.snapshot().agi
        assert agi.known and agi.up and agi.name == row[0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _row(path)[3] is not None  # stopped_at
    snap = build_services(Config(db=str(path))).wallboard.snapshot()
    assert not snap.agi.up and [a.kind for a in snap.alerts] == ["agi_down"]
