"""``cc report queues`` and ``cc report agents`` on the fixed ACD history of tests/wallboard/wallboard_history.py
(abandoned, overflowed, blocked, transferred and backup-tier calls; an agent state carried in from the day
before); numbers computed by hand there and below. The queue figures must equal the wallboard's."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wallboard"))

from wallboard_history import build  # noqa: E402

from cc.errors import NotFound, UsageError  # noqa: E402


@pytest.fixture
def acd_history(world):
    build(world.db)
    return world


def _period(svc, start="2026-11-25", end="2026-11-26"):  # noqa: ANN001, ANN202
    return svc.reports.period(date.fromisoformat(start), date.fromisoformat(end))


def _dicts(report):  # noqa: ANN001, ANN202
    return [dict(zip(report.columns, r)) for r in report.rows]


def test_queues_by_day(acd_history):
    rows = _dicts(acd_history.reports.queues(_period(acd_history), interval="day"))
    assert [(r["interval"], r["queue"]) for r in rows] == [("2026-11-25", "orders"), ("2026-11-26", "orders"), ("2026-11-26", "service")]
    y, o, s = rows
    assert (y["offered"], y["answered"], y["service_level"], y["asa_s"], y["aht_s"]) == (1, 1, 1.0, 8.0, None)
    assert (o["offered"], o["answered"], o["abandoned"], o["overflowed"], o["other_exits"], o["refused"]) == (4, 2, 1, 1, 0, 1)
    assert (o["service_level"], o["asa_s"], o["aht_s"], o["talk_s"], o["wrap_s"], o["max_wait_s"]) == (0.25, 20.0, 165.0, 150.0, 15.0, 60.0)
    assert (o["answered_backup"], o["transferred"]) == (1, 1)
    assert (s["offered"], s["answered"], s["service_level"], s["asa_s"], s["aht_s"]) == (1, 1, 1.0, 5.0, 140.0)


def test_queues_by_half_hour_and_filter(acd_history):
    report = acd_history.reports.queues(_period(acd_history, "2026-11-26", "2026-11-26"), interval="30m", queue="orders")
    rows = _dicts(report)
    assert [(r["interval"], r["offered"], r["answered"], r["abandoned"], r["overflowed"], r["refused"]) for r in rows] == [
        ("2026-11-26 09:00", 3, 2, 1, 0, 0), ("2026-11-26 09:30", 1, 0, 0, 1, 1)]
    assert report.summary["offered"] == 4 and report.summary["service_level"] == 0.25
    hourly = _dicts(acd_history.reports.queues(_period(acd_history, "2026-11-26", "2026-11-26"), interval="1h"))
    assert [(r["interval"], r["queue"], r["offered"]) for r in hourly] == [("2026-11-26 09:00", "orders", 4), ("2026-11-26 09:00", "service", 1)]
    with pytest.raises(UsageError):
        acd_history.reports.queues(_period(acd_history), interval="2h")


def test_the_wallboard_shows_the_report_s_numbers(acd_history):
    rows = {r["queue"]: r for r in _dicts(acd_history.reports.queues(_period(acd_history, "2026-11-26", "2026-11-26")))}
    for q in acd_history.wallboard.snapshot().queues:
        f = q.today
        r = rows[q.name]
        assert (f.offered, f.answered, f.abandoned, f.service_level, f.asa_seconds, f.aht_seconds) == (
            r["offered"], r["answered"], r["abandoned"], r["service_level"], r["asa_s"], r["aht_s"])


def test_agents_today(acd_history):
    report = acd_history.reports.agents(_period(acd_history, "2026-11-26", "2026-11-26"))
    wang, zhao = _dicts(report)
    # wang: ready since yesterday 23:00 local (carried in), two calls; the day so far is 10 h = 36000 s
    assert (wang["agent"], wang["signed_in_s"], wang["ready_s"], wang["ringing_s"], wang["talk_s"], wang["wrap_s"]) == (
        "wang", 36000, 35643, 7, 300, 50)
    assert (wang["calls"], wang["orders"], wang["conversion"], wang["aht_s"], wang["survey_count"], wang["survey_avg"]) == (
        2, 1, 0.5, 175.0, 2, 4.5)
    assert (zhao["name"], zhao["signed_in_s"], zhao["ready_s"], zhao["paused_s"], zhao["paused_by_reason"], zhao["talk_s"]) == (
        "赵六", 4200, 2215, 1860, "lunch=1860", 120)
    assert (zhao["calls"], zhao["orders"], zhao["conversion"], zhao["survey_avg"], zhao["qa_avg"]) == (1, 1, 1.0, 2.0, None)
    assert report.summary == {"agents": 2, "calls": 3, "orders": 2}


def test_agents_filters_and_qa(acd_history):
    c = acd_history.db.conn
    c.execute("INSERT INTO qa_cards (id, name, version, definition, loaded_at) VALUES (1, 'basic', 1, '{}', '2026-11-26T00:00:00.000+00:00')")
    for call, total, at in (("c1", 80.0, "01:00:10"), ("c4", 90.0, "01:31:05"), ("c4", 70.0, "01:31:05")):
        c.execute("INSERT INTO qa_scores (call_id, agent, call_at, card_id, answers, total, at) VALUES (?, 'wang', ?, 1, '{}', ?, ?)",
                  (call, f"2026-11-26T{at}.000+00:00", total, "2026-11-26T01:50:00.000+00:00"))
    day = _period(acd_history, "2026-11-26", "2026-11-26")
    (wang,) = _dicts(acd_history.reports.agents(day, agent="wang"))
    assert wang["qa_avg"] == 75.0  # the newest score of each call: (80 + 70) / 2
    by_queue = {r["agent"]: r for r in _dicts(acd_history.reports.agents(day, queue="service"))}
    assert set(by_queue) == {"wang", "zhao"}  # both have the service skill
    assert (by_queue["wang"]["calls"], by_queue["wang"]["survey_avg"], by_queue["zhao"]["calls"]) == (1, 4.0, 0)
    with pytest.raises(NotFound):
        acd_history.reports.agents(day, agent="nobody")
    with pytest.raises(NotFound):
        acd_history.reports.agents(day, queue="nowhere")


def test_cli_formats(acd_history, cli, tmp_path):
    r = cli("report", "queues", "--from", "2026-11-26", "--to", "2026-11-26", "--interval", "30m", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["report"] == "queues" and len(data["rows"]) == 3
    r = cli("report", "agents", "--from", "2026-11-26", "--to", "2026-11-26", "-f", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [(x["agent"], x["name"], x["calls"]) for x in rows] == [("wang", "王芳", "2"), ("zhao", "赵六", "1")]
    r = cli("report", "queues", "--from", "2026-11-25", "--to", "2026-11-26")
    assert r.code == 0 and "Queues by day" in r.out and "service" in r.out
    book = tmp_path / "agents.xlsx"
    assert cli("report", "agents", "-f", "xlsx", "-o", str(book)).code == 0 and book.stat().st_size > 0
    r = cli("report", "queues", "--interval", "2h")
    assert r.code == 2 and "Error: unknown interval" in r.err and "Hint:" in r.err
    r = cli("report", "agents", "--agent", "nobody")
    assert r.code == 1 and "Error: no agent named 'nobody'" in r.err
