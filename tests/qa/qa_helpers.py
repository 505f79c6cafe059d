"""Shared helpers for the QA tests: a database file with staff, recorded calls, queue exits and surveys,
and a QA service on a frozen clock."""

from __future__ import annotations

from pathlib import Path

from cc.clock import FrozenClock
from cc.config import Config

START = "2026-11-26T02:00:00+00:00"

# (call id, agent, recording start UTC, survey score or None). Asia/Shanghai: 02:00 UTC = 10:00 local.
CALLS = [
    ("call-1", "a1", "2026-11-20T02:00:00.000+00:00", 5),
    ("call-2", "a1", "2026-11-24T03:00:00.000+00:00", 3),
    ("call-3", "a2", "2026-11-25T01:00:00.000+00:00", None),
    ("call-4", "a2", "2026-11-25T17:30:00.000+00:00", 4),  # 01:30 on the 26th, local
]


def make_db(path: Path) -> None:
    from cc.store.db import open_db

    db = open_db(path)
    users = [("a1", "agent"), ("a2", "agent"), ("boss", "supervisor"), ("root", "admin"), ("carl", "supervisor")]
    for name, role in users:
        db.conn.execute("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)",
                        (name, role, START, START))
    for user, dial in [("a1", "PJSIP/1001"), ("a2", "PJSIP/1002"), ("boss", "PJSIP/2001")]:
        db.conn.execute("INSERT INTO acd_agents (user, dial, state, state_since, updated_at) VALUES (?, ?, 'offline', ?, ?)",
                        (user, dial, START, START))
    for call_id, agent, at, survey in CALLS:
        db.conn.execute("INSERT INTO calls (id, caller, started_at, answered_at, ended_at) VALUES (?, '+8613700137000', ?, ?, ?)",
                        (call_id, at, at, _plus(at, 185)))
        db.conn.execute("INSERT INTO acd_exits (call_id, queue, caller, reason, agent, waited_ms, at) VALUES (?, 'orders', '+8613700137000', 'answered', ?, 12000, ?)",
                        (call_id, agent, at))
        db.conn.execute("INSERT INTO acd_recordings (call_id, agent, queue, file, started_at) VALUES (?, ?, 'orders', ?, ?)",
                        (call_id, agent, f"/var/spool/asterisk/monitor/acd-{call_id}.wav", at))
        if survey:
            db.conn.execute("INSERT INTO acd_surveys (call_id, agent, queue, score, at) VALUES (?, ?, 'orders', ?, ?)",
                            (call_id, agent, survey, at))
    db.conn.close()


def _plus(at: str, seconds: int) -> str:
    from datetime import timedelta

    from cc.domain.timestamps import iso, parse_iso

    return iso(parse_iso(at) + timedelta(seconds=seconds))


def config_for(path: Path, locale: str = "en") -> Config:
    config = Config()
    config.db = str(path)
    config.locale = locale
    return config


def qa_for(path: Path, user: str | None = "boss", clock: FrozenClock | None = None, player=None, locale: str = "en"):  # noqa: ANN201
    from cc.services.container import build_services
    from cc.services.qa import qa_service

    services = build_services(config_for(path, locale), clock=clock or FrozenClock(START), acting_user=user)
    OPEN_SERVICES.append(services)  # closed after the test (tests/qa/conftest.py)
    return qa_service(services, player=player)


OPEN_SERVICES: list = []


class FakePlayer:
    """The play port: remembers what it was asked to play; ``fail`` makes it refuse like Asterisk would."""

    def __init__(self, fail: Exception | None = None, outcome: tuple[bool, str] = (True, "")) -> None:
        self.played: list[tuple[str, str, str]] = []
        self.fail = fail
        self.result = outcome
        self.waited: list[tuple[str, str, float]] = []

    def outside(self, number: str) -> str:
        return f"PJSIP/{number.lstrip('+')}@trunk"

    def play(self, dial: str, file: str, tag: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.played.append((dial, file, tag))
        return f"cc-qa-test{len(self.played)}"

    def outcome(self, tag: str, channel: str, timeout: float) -> tuple[bool, str]:
        self.waited.append((tag, channel, timeout))
        return self.result


ANSWERS = {"greeting": "yes", "identified_customer": "yes", "understood_request": "5", "order_accuracy": "4",
           "product_knowledge": "3", "courtesy": "5", "closing": "no"}
# 10 + 15 + 15 + 25*4/5 + 10*3/5 + 15 + 0 = 81.0
ANSWERS_TOTAL = 81.0



def cli(*argv: str) -> tuple[int, str, str]:
    """``cc ...`` in-process (tests/core's runner): exit code, stdout, stderr."""
    from core_helpers import run_cli

    result = run_cli(list(argv))
    return result.code, result.out, result.err
