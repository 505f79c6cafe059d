"""The QA service on a real SQLite file: scorecard versions, calls to review, append-only scores, averages
and scores per period beside the surveys, and playing a recording through a fake play port."""

from __future__ import annotations

import json
import sqlite3

import pytest
from qa_helpers import ANSWERS, ANSWERS_TOTAL, FakePlayer, qa_for

from cc.errors import NotFound, PermissionDenied, Refused, Unreachable, UsageError
from cc.services.qa import parse_card_yaml, playable

ALL = ("2026-11-01T00:00:00.000+00:00", "2026-12-01T00:00:00.000+00:00")

SMALL = """\
name: short
title: {zh_CN: 简表, en: Short}
criteria:
  - key: greeting
    label: {zh_CN: 问候, en: Greeting}
    weight: 40
    type: yesno
  - key: accuracy
    label: {zh_CN: 准确, en: Accuracy}
    weight: 60
    max: 5
"""


def test_default_card_loads_on_first_use_and_imports_make_versions(db_file, tmp_path):
    svc = qa_for(db_file)
    cards = svc.cards()
    assert [(c["name"], c["version"]) for c in cards] == [("default", 1)]
    assert sum(c["weight"] for c in cards[0]["criteria"]) == 100
    assert cards[0]["criteria"][0]["labels"]["zh_CN"].startswith("标准开场白")
    file = tmp_path / "short.yaml"
    file.write_text(SMALL, encoding="utf-8")
    assert svc.import_file(file) == {"name": "short", "version": 1, "id": 2, "unchanged": False}
    assert svc.import_file(file)["unchanged"] is True  # the same card again: no new version
    file.write_text(SMALL.replace("weight: 40", "weight: 30").replace("weight: 60", "weight: 70"), encoding="utf-8")
    assert svc.import_file(file)["version"] == 2
    assert [(c["name"], c["version"], c["versions"]) for c in svc.cards()] == [("default", 1, 1), ("short", 2, 2)]


def test_calls_to_review(db_file):
    svc = qa_for(db_file)
    calls = svc.calls(*ALL)
    assert [c["call"] for c in calls] == ["call-4", "call-3", "call-2", "call-1"]
    first = calls[-1]
    assert first == {"call": "call-1", "at": "2026-11-20T02:00:00.000+00:00", "local_at": "2026-11-20 10:00", "agent": "a1", "queue": "orders",
                     "caller": "+8613700137000", "duration_s": 185, "waited_s": 12,
                     "recording": "/var/spool/asterisk/monitor/acd-call-1.wav", "recording_id": 1, "survey": 5,
                     "qa_total": None, "scored_by": None, "scored_at": None}
    assert [c["call"] for c in svc.calls(*ALL, agent="a2")] == ["call-4", "call-3"]
    assert [c["call"] for c in svc.calls("2026-11-24T00:00:00.000+00:00", "2026-11-25T00:00:00.000+00:00")] == ["call-2"]
    svc.score("call-3", ANSWERS)
    assert [c["call"] for c in svc.calls(*ALL, unscored=True)] == ["call-4", "call-2", "call-1"]
    assert svc.calls(*ALL, agent="a2")[1]["qa_total"] == ANSWERS_TOTAL


def test_a_score_is_appended_and_the_newest_counts(db_file, clock):
    svc = qa_for(db_file, clock=clock)
    first = svc.score("call-1", ANSWERS, comment=" read back the order ")
    assert first["total"] == ANSWERS_TOTAL and first["replaces"] is None and first["card_version"] == 1
    clock.advance(60)
    second = svc.score("call-1", {**ANSWERS, "closing": "yes"})
    assert second["total"] == ANSWERS_TOTAL + 10 and second["replaces"] == first["id"]
    shown = svc.call("call-1")
    assert [s["total"] for s in shown["scores"]] == [81.0, 91.0]
    assert shown["scores"][0]["comment"] == "read back the order" and shown["scores"][0]["scorer"] == "boss"
    assert shown["qa_total"] == 91.0
    assert svc.averages(*ALL) == {"a1": 91.0}
    raw = sqlite3.connect(db_file).execute("SELECT answers, agent, call_at FROM qa_scores ORDER BY id").fetchall()
    assert len(raw) == 2 and json.loads(raw[0][0])["order_accuracy"] == 4
    assert raw[0][1:] == ("a1", "2026-11-20T02:00:00.000+00:00")


def test_a_score_records_the_card_version_it_used(db_file, tmp_path):
    svc = qa_for(db_file)
    file = tmp_path / "short.yaml"
    file.write_text(SMALL, encoding="utf-8")
    svc.import_file(file)
    one = svc.score("call-1", {"greeting": "yes", "accuracy": "5"}, card="short")
    file.write_text(SMALL.replace("max: 5", "max: 10"), encoding="utf-8")
    svc.import_file(file)
    two = svc.score("call-2", {"greeting": "no", "accuracy": "5"}, card="short")
    assert svc.score("call-3", {"greeting": "yes", "accuracy": "5"})["card"] == "short"  # no --card: the card loaded last
    assert (one["card_version"], one["total"]) == (1, 100.0)
    assert (two["card_version"], two["total"]) == (2, 30.0)
    assert svc.call("call-1")["scores"][0]["card_version"] == 1


@pytest.mark.parametrize(("answers", "card", "error", "message"), [
    ({**ANSWERS, "smile": "1"}, None, UsageError, "scorecard 'default' has no criterion 'smile'"),
    ({**ANSWERS, "courtesy": "9"}, None, UsageError, "courtesy: '9' is out of range (0 to 5 points)"),
    ({"greeting": "yes"}, None, UsageError, "no answer for identified_customer"),
    (ANSWERS, "nope", NotFound, "no scorecard 'nope' (cards: default)"),
])
def test_bad_scores_are_refused(db_file, answers, card, error, message):
    svc = qa_for(db_file)
    with pytest.raises(error) as err:
        svc.score("call-1", answers, card=card)
    assert message in err.value.message and err.value.hint
    assert svc.call("call-1")["scores"] == []


def test_only_supervisors_score_and_unknown_calls_are_named(db_file):
    with pytest.raises(PermissionDenied, match="a1 is an agent and may not score calls"):
        qa_for(db_file, user="a1").score("call-1", ANSWERS)
    with pytest.raises(PermissionDenied):
        qa_for(db_file, user="a1").calls(*ALL)
    with pytest.raises(NotFound, match="no recorded call 'call-9'"):
        qa_for(db_file).score("call-9", ANSWERS)
    assert qa_for(db_file, user="root").score("call-1", ANSWERS)["total"] == ANSWERS_TOTAL  # admins too
    assert qa_for(db_file, user=None).score("call-2", ANSWERS)["total"] == ANSWERS_TOTAL  # the site operator


def test_scores_per_period_with_surveys(db_file):
    svc = qa_for(db_file)
    svc.score("call-1", ANSWERS)  # a1, 2026-11-20 (W47)
    svc.score("call-2", {**ANSWERS, "closing": "yes"})  # a1, 2026-11-24 (W48): 91
    svc.score("call-4", {**ANSWERS, "greeting": "no"})  # a2, 2026-11-26 local (W48): 71
    by_week = svc.scores(*ALL, by="week")
    assert by_week == [
        {"period": "2026-W47", "agent": "a1", "scored": 1, "qa_average": 81.0, "surveys": 1, "survey_average": 5.0},
        {"period": "2026-W48", "agent": "a1", "scored": 1, "qa_average": 91.0, "surveys": 1, "survey_average": 3.0},
        {"period": "2026-W48", "agent": "a2", "scored": 1, "qa_average": 71.0, "surveys": 1, "survey_average": 4.0},
    ]
    by_month = svc.scores(*ALL, by="month", agent="a1")
    assert by_month == [{"period": "2026-11", "agent": "a1", "scored": 2, "qa_average": 86.0, "surveys": 2,
                         "survey_average": 4.0}]
    by_day = svc.scores(*ALL, by="day", agent="a2")
    assert [r["period"] for r in by_day] == ["2026-11-26"]  # 17:30 UTC on the 25th is the 26th in Shanghai
    assert svc.averages(*ALL) == {"a1": 86.0, "a2": 71.0}
    assert svc.averages(*ALL, agent="a2") == {"a2": 71.0}
    with pytest.raises(UsageError, match="--by 'year'"):
        svc.scores(*ALL, by="year")


def test_period_uses_the_reports_rules(db_file):
    from datetime import date

    assert qa_for(db_file).period(date(2026, 11, 20), date(2026, 11, 20)) == (
        "2026-11-19T16:00:00.000+00:00", "2026-11-20T16:00:00.000+00:00")


def test_play_rings_the_supervisor_and_logs_it(db_file):
    player = FakePlayer()
    svc = qa_for(db_file, player=player)
    result = svc.play("call-2")
    assert player.played == [("PJSIP/2001", "/var/spool/asterisk/monitor/acd-call-2", result["tag"])]
    assert result["to"] == "boss" and result["channel"] == "cc-qa-test1"
    svc.play("call-2", to="13900139000")
    assert player.played[1][0] == "PJSIP/8613900139000@trunk"
    assert svc.play("call-2", dial="PJSIP/2009")["dial"] == "PJSIP/2009"
    with pytest.raises(UsageError, match="not a dial string"):
        svc.play("call-2", dial="PJSIP/2009,t)")
    with pytest.raises(UsageError, match="give one of"):
        svc.play("call-2", dial="PJSIP/2009", user="boss")
    rows = sqlite3.connect(db_file).execute("SELECT call_id, actor, dial, outcome FROM qa_plays ORDER BY id").fetchall()
    assert rows == [("call-2", "boss", "PJSIP/2001", "ok"), ("call-2", "boss", "PJSIP/8613900139000@trunk", "ok"),
                    ("call-2", "boss", "PJSIP/2009", "ok")]


def test_play_and_wait_for_the_outcome(db_file):
    player = FakePlayer()
    result = qa_for(db_file, player=player).play("call-1", wait=20)
    assert result["played"] is True and player.waited == [(result["tag"], "cc-qa-test1", 20)]
    missing = FakePlayer(outcome=(False, "playback FAILED (is the recording file there?)"))
    with pytest.raises(Refused, match="was not played to boss: playback FAILED"):
        qa_for(db_file, player=missing).play("call-1", wait=20)
    rows = sqlite3.connect(db_file).execute("SELECT outcome, detail FROM qa_plays ORDER BY id").fetchall()
    assert rows == [("played", "cc-qa-test1"), ("failed", "playback FAILED (is the recording file there?)")]


def test_play_refusals(db_file):
    svc = qa_for(db_file, player=FakePlayer())
    with pytest.raises(UsageError, match="no phone known for 'carl'"):
        svc.play("call-1", user="carl")
    with pytest.raises(PermissionDenied, match="does not review calls"):
        svc.play("call-1", user="a2")
    with pytest.raises(NotFound):
        svc.play("call-1", user="ghost")
    with pytest.raises(NotFound, match="no recorded call"):
        svc.play("nope")
    with pytest.raises(UsageError):
        svc.play("call-1", to="12")
    with pytest.raises(Unreachable):
        qa_for(db_file).play("call-1")
    with pytest.raises(UsageError, match="whose phone should ring"):
        qa_for(db_file, user=None, player=FakePlayer()).play("call-1")
    failing = qa_for(db_file, player=FakePlayer(fail=Refused("Asterisk refused Originate to relay: no such channel")))
    with pytest.raises(Refused):
        failing.play("call-1")
    outcome = sqlite3.connect(db_file).execute("SELECT outcome, detail FROM qa_plays").fetchall()
    assert outcome == [("failed", "Asterisk refused Originate to relay: no such channel")]


def test_playable_strips_only_sound_extensions():
    assert playable("/rec/acd-1.wav") == "/rec/acd-1"
    assert playable("/rec/acd-1.gsm") == "/rec/acd-1"
    assert playable("/rec/acd-1") == "/rec/acd-1"
    assert playable("/rec.d/acd-1") == "/rec.d/acd-1"


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\ncriteria: [\n", "<t>, line 3: not valid YAML"),
    (SMALL.replace("weight: 60", "weight: 50"), "<t>, line 3: criteria: weights add up to 90, not 100"),
    (SMALL.replace("    max: 5", "    max: five"), "<t>, line 11: criterion 'accuracy': max must be a whole number"),
    (SMALL.replace("  - key: accuracy", "  - key: greeting"), "<t>, line 8: criterion 'greeting': is defined twice"),
    (SMALL.replace("label: {zh_CN: 准确, en: Accuracy}", "label: {en: Accuracy}"), "<t>, line 9: criterion 'accuracy': label has no zh_CN text"),
])
def test_yaml_errors_name_the_line_and_criterion(text, message):
    with pytest.raises(UsageError) as err:
        parse_card_yaml(text, "<t>")
    assert err.value.message.startswith(message), err.value.message
    assert "\n" not in err.value.message and err.value.hint
