"""Shared helpers for the ACD tests: a database file with staff users, a service on a frozen clock."""

from __future__ import annotations

from cc.clock import FrozenClock
from cc.services.acd import AcdService, AcdSettings
from cc.store.acd import AcdStore
from cc.store.calls import connect

START = "2026-11-26T02:00:00+00:00"

QUEUES = {
    "queues": {
        "orders": {"service": "orders", "strategy": "longest_idle", "ring_seconds": 5, "wrap_up_seconds": 10,
                   "announce": {"every_seconds": 10, "position": True, "expected_wait": True},
                   "overflow": {"after_seconds": 30, "backup_skills": ["changes"], "max_wait_seconds": 120,
                                "then": "callback"},
                   "no_agents": "voicemail", "max_waiting": 5},
        "changes": {"service": "changes", "strategy": "highest_skill"},
        "complaints": {"service": "complaints", "strategy": "lowest_skill", "no_agents": "message"},
    }
}


def make_db(path, users=("a1", "a2", "a3", "a4")) -> None:
    from cc.store.db import open_db

    db = open_db(path)
    for name in users:
        db.conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, 'agent', 'x', ?, ?)",
            (name, START, START),
        )
    db.conn.execute("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES ('boss', 'admin', 'x', ?, ?)", (START, START))
    db.conn.close()


def service(path, clock: FrozenClock | None = None, stale: float = 60.0) -> AcdService:
    return AcdService(AcdStore(connect(str(path))), clock or FrozenClock(START), AcdSettings(stale_after=stale))


def cli_env(monkeypatch, db_file, tmp_path) -> None:
    """Run ``cc`` in-process on ``db_file`` as the site operator, wide output, in ``tmp_path``."""
    for name in ("CC_CONFIG", "CC_USER", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CC_DB", str(db_file))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
