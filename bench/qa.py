"""QA review at size: a year of ACD history (200,000 answered and recorded calls, 30% with a caller's
survey answer, 5% scored by a supervisor, 20 agents).

1. The review list (``cc qa calls``, the QA screen): the newest 200 recorded calls of the last 30 days
   with call, queue exit, survey and newest score beside each. Target: < 50 ms (median of 20).
2. Scores per agent by week over the whole year with the survey scores beside them (``cc qa scores
   --by week``). Target: < 1 s (median of 5).
3. ``QaService.averages`` over the year (what ``cc report agents`` shows). Target: < 200 ms (median of 5).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench._util import figure

CALLS = 200_000
START = 1764201600  # 2025-11-27T00:00:00Z; the calls spread over the following year
SPACING = 157  # seconds between two calls (200,000 in a year)


def _fill(path: Path) -> None:
    from cc.store.db import open_db

    db = open_db(path)
    conn = db.conn
    now = "2026-11-26T00:00:00.000+00:00"
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)",
                     [(f"a{i}", "agent", now, now) for i in range(20)] + [("boss", "supervisor", now, now)])
    n = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {CALLS - 1}) "
    at = f"strftime('%Y-%m-%dT%H:%M:%f', {START} + i * {SPACING}, 'unixepoch') || '+00:00'"
    conn.execute(f"INSERT INTO calls (id, caller, started_at, answered_at, ended_at) {n}"
                 f"SELECT printf('c%07d', i), printf('+86139%08d', i % 50000), {at}, {at}, "
                 f"strftime('%Y-%m-%dT%H:%M:%f', {START} + i * {SPACING} + 120, 'unixepoch') || '+00:00' FROM n")
    conn.execute(f"INSERT INTO acd_exits (call_id, queue, caller, reason, agent, waited_ms, at) {n}"
                 f"SELECT printf('c%07d', i), 'orders', printf('+86139%08d', i % 50000), 'answered', 'a' || (i % 20), i % 30000, {at} FROM n")
    conn.execute(f"INSERT INTO acd_recordings (call_id, agent, queue, file, started_at) {n}"
                 f"SELECT printf('c%07d', i), 'a' || (i % 20), 'orders', printf('/rec/acd-c%07d.wav', i), {at} FROM n")
    conn.execute(f"INSERT INTO acd_surveys (call_id, agent, queue, score, at) {n}"
                 f"SELECT printf('c%07d', i), 'a' || (i % 20), 'orders', 1 + i % 5, {at} FROM n WHERE i % 10 < 3")
    conn.execute("COMMIT")
    conn.close()


def _median(fn, repeat: int) -> float:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run() -> list[dict]:
    from cc.clock import FrozenClock
    from cc.config import Config
    from cc.services.container import build_services
    from cc.services.qa import qa_service
    from cc.store.db import open_db

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "qa.db"
        _fill(path)
        config = Config()
        config.db = str(path)
        services = build_services(config, db=open_db(path), clock=FrozenClock("2026-11-26T06:00:00+00:00"), acting_user="boss")
        qa = qa_service(services)
        answers = {"greeting": "yes", "identified_customer": "yes", "understood_request": "4", "order_accuracy": "5",
                   "product_knowledge": "3", "courtesy": "4", "closing": "no"}
        with qa.store.transaction():  # 5% of the calls scored, through the service
            for i in range(0, CALLS, 20):
                qa.score(f"c{i:07d}", answers)
        month = qa.period(date(2026, 10, 28), date(2026, 11, 26))
        year = qa.period(date(2025, 11, 27), date(2026, 11, 26))
        assert len(qa.calls(*month)) == 200
        listing = _median(lambda: qa.calls(*month), 20)
        by_week = _median(lambda: qa.scores(*year, by="week"), 5)
        averages = _median(lambda: qa.averages(*year), 5)
        services.db.conn.close()
    return [
        figure("qa_review_list_30_days_ms", listing, "ms", target=50, higher_is_better=False),
        figure("qa_scores_by_week_year_ms", by_week, "ms", target=1000, higher_is_better=False),
        figure("qa_averages_year_ms", averages, "ms", target=200, higher_is_better=False),
    ]
