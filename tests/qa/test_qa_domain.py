"""Scorecard rules as pure functions: reading a definition, checking answers, the weighted total, periods."""

from __future__ import annotations

from datetime import date

import pytest

from cc.domain import qa

CARD = {
    "name": "short",
    "title": {"zh_CN": "简表", "en": "Short"},
    "criteria": [
        {"key": "greeting", "label": {"zh_CN": "问候", "en": "Greeting"}, "weight": 20, "type": "yesno"},
        {"key": "accuracy", "label": {"zh_CN": "准确", "en": "Accuracy"}, "weight": 50, "max": 5},
        {"key": "courtesy", "label": {"zh_CN": "礼貌", "en": "Courtesy"}, "weight": 30, "max": 3},
    ],
}


def card(**changes):  # noqa: ANN201
    data = {**CARD, **changes}
    return qa.card_from_dict(data)


def test_a_card_reads_and_round_trips():
    c = card()
    assert [x.key for x in c.criteria] == ["greeting", "accuracy", "courtesy"]
    assert c.criterion("greeting").kind == "yesno" and c.criterion("greeting").max_points == 1
    assert c.title("zh_CN") == "简表" and c.criterion("accuracy").label("en") == "Accuracy"
    assert qa.card_from_dict(qa.card_to_dict(c)) == c


def test_weighted_total():
    c = card()
    assert qa.weighted_total(c, {"greeting": 1, "accuracy": 5, "courtesy": 3}) == 100.0
    assert qa.weighted_total(c, {"greeting": 0, "accuracy": 0, "courtesy": 0}) == 0.0
    # 20 + 50 * 3/5 + 30 * 1/3 = 60
    assert qa.weighted_total(c, {"greeting": 1, "accuracy": 3, "courtesy": 1}) == 60.0
    assert qa.weighted_total(c, {"accuracy": 5}) == 50.0  # unanswered count 0 (the form's live total)


def test_answers_are_checked_against_the_card():
    c = card()
    assert qa.check_answers(c, {"courtesy": "2", "greeting": "是", "accuracy": 4}) == {"greeting": 1, "accuracy": 4, "courtesy": 2}
    assert qa.check_answers(c, {"greeting": "no", "accuracy": "0", "courtesy": "0"})["greeting"] == 0
    with pytest.raises(qa.AnswerError, match="no criterion 'smile'") as err:
        qa.check_answers(c, {"smile": "1"})
    assert "greeting, accuracy, courtesy" in err.value.hint
    with pytest.raises(qa.AnswerError, match=r"accuracy: '6' is out of range \(0 to 5 points\)"):
        qa.check_answers(c, {"accuracy": "6"}, complete=False)
    with pytest.raises(qa.AnswerError, match="out of range"):
        qa.check_answers(c, {"accuracy": "-1"}, complete=False)
    with pytest.raises(qa.AnswerError, match="out of range"):
        qa.check_answers(c, {"accuracy": "2.5"}, complete=False)
    with pytest.raises(qa.AnswerError, match="'maybe' is not yes or no"):
        qa.check_answers(c, {"greeting": "maybe"}, complete=False)
    with pytest.raises(qa.AnswerError, match="no answer for accuracy, courtesy"):
        qa.check_answers(c, {"greeting": "yes"})


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": "bad name"}, "name: must be a short name"),
    ({"criteria": []}, "criteria: must be a non-empty list"),
    ({"extra": 1}, "extra: is not a scorecard field"),
])
def test_bad_card_fields(changes, message):
    with pytest.raises(qa.CardError) as err:
        card(**changes)
    assert message in str(err.value)


def _criteria(*patches: dict) -> list[dict]:
    items = [dict(item) for item in CARD["criteria"]]
    for i, patch in enumerate(patches):
        items[i].update(patch)
    return items


@pytest.mark.parametrize(("patch", "message"), [
    ({"weight": 25}, "weights add up to 105, not 100"),
    ({"weight": 0}, "criterion 'greeting': weight must be a number above 0"),
    ({"type": "stars"}, "criterion 'greeting': type must be 'points'"),
    ({"key": "accuracy"}, "criterion 'accuracy': is defined twice"),
    ({"label": {"en": "Greeting"}}, "criterion 'greeting': label has no zh_CN text"),
    ({"max": 3}, "a yesno criterion has no max"),
    ({"colour": "red"}, "unknown field 'colour'"),
])
def test_bad_criteria(patch, message):
    with pytest.raises(qa.CardError) as err:
        card(criteria=_criteria(patch))
    assert message in str(err.value)


def test_problems_carry_their_line():
    lines = {"criteria[1]": 9, "criteria[1].max": 12}
    with pytest.raises(qa.CardError) as err:
        qa.card_from_dict({**CARD, "criteria": _criteria({}, {"max": 0})}, lines)
    problem = err.value.problems[0]
    assert problem.line == 12 and problem.where == "criterion 'accuracy'"
    assert str(problem) == "line 12: criterion 'accuracy': max must be a whole number of points from 1 to 100, not 0"


def test_period_labels():
    day = date(2026, 11, 26)
    assert qa.period_label(day, "day") == "2026-11-26"
    assert qa.period_label(day, "week") == "2026-W48"
    assert qa.period_label(date(2027, 1, 1), "week") == "2026-W53"
    assert qa.period_label(day, "month") == "2026-11"
    with pytest.raises(ValueError):
        qa.period_label(day, "year")
    assert qa.average([]) is None and qa.average([80.0, 90.0, 95.5]) == 88.5


def test_period_spans_group_consecutive_days():
    spans = qa.period_spans(date(2026, 11, 29), date(2026, 12, 2), "week")
    assert spans == [("2026-W48", date(2026, 11, 29), date(2026, 11, 30)),
                     ("2026-W49", date(2026, 11, 30), date(2026, 12, 3))]
    assert [s[0] for s in qa.period_spans(date(2026, 11, 29), date(2026, 12, 2), "month")] == ["2026-11", "2026-12"]
    assert len(qa.period_spans(date(2026, 1, 1), date(2026, 12, 31), "day")) == 365
    assert qa.period_spans(date(2026, 12, 2), date(2026, 12, 1), "day") == []
