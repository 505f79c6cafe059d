"""QA scorecards: weighted criteria, checking a scorecard definition and a supervisor's answers against
it, the weighted total (0-100), and the periods scores are grouped by. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

LOCALES = ("zh_CN", "en")
KINDS = ("points", "yesno")
PERIODS = ("day", "week", "month")
YES = frozenset({"yes", "y", "1", "true", "是", "有"})
NO = frozenset({"no", "n", "0", "false", "否", "无", "没有"})
WEIGHT_TOTAL = 100.0


@dataclass(frozen=True)
class Problem:
    where: str | None  # "criteria[2] (courtesy)", "name", ...
    message: str
    line: int | None = None

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"line {self.line}: {text}" if self.line else text


class CardError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class AnswerError(ValueError):
    """An answer does not fit the card (unknown criterion, value out of range, missing)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Criterion:
    key: str
    labels: Mapping[str, str]  # locale -> label
    weight: float  # percent of the total
    kind: str = "points"  # points | yesno
    max_points: int = 1  # 1 for yesno

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or self.labels.get("en") or self.key


@dataclass(frozen=True)
class Scorecard:
    name: str
    titles: Mapping[str, str]
    criteria: tuple[Criterion, ...]

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or self.titles.get("en") or self.name

    def criterion(self, key: str) -> Criterion | None:
        return next((c for c in self.criteria if c.key == key), None)


# -- reading a definition --------------------------------------------------------------------------------

def card_from_dict(data: Any, lines: Mapping[str, int] | None = None) -> Scorecard:
    """Build a card from parsed YAML/JSON; raises ``CardError`` listing every problem. ``lines`` maps
    ``"name"``, ``"criteria"``, ``"criteria[i]"`` and ``"criteria[i].field"`` to line numbers."""
    lines = lines or {}
    problems: list[Problem] = []

    def bad(where: str | None, message: str, at: str | None = None) -> None:
        problems.append(Problem(where, message, lines.get(at or where or "")))

    if not isinstance(data, dict):
        raise CardError([Problem(None, "a scorecard must be a mapping with name, title and criteria")])
    for key in data:
        if key not in ("name", "title", "criteria", "description"):
            bad(str(key), "is not a scorecard field (name, title, criteria, description)")
    name = data.get("name")
    if not isinstance(name, str) or not _is_key(name):
        bad("name", "must be a short name of letters, digits, '-' or '_' (e.g. default)")
        name = str(name or "")
    titles = _labels(data.get("title"), "title", "title", bad, required=False) or {"en": name, "zh_CN": name}
    raw = data.get("criteria")
    criteria: list[Criterion] = []
    if not isinstance(raw, list) or not raw:
        bad("criteria", "must be a non-empty list of criteria")
        raw = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        at = f"criteria[{i}]"
        if not isinstance(item, dict):
            bad(at, "must be a mapping with key, label, weight and max or type: yesno")
            continue
        key = item.get("key")
        where = f"criterion '{key}'" if isinstance(key, str) and key else f"criterion #{i + 1}"
        for field in item:
            if field not in ("key", "label", "weight", "max", "type", "description"):
                bad(where, f"unknown field '{field}' (key, label, weight, max, type)", f"{at}.{field}")
        if not isinstance(key, str) or not _is_key(key):
            bad(where, "needs a key of letters, digits or '_' (e.g. greeting)", f"{at}.key" if "key" in item else at)
            continue
        if key in seen:
            bad(where, "is defined twice", f"{at}.key")
            continue
        seen.add(key)
        labels = _labels(item.get("label"), where, f"{at}.label", bad, required=True, fallback=at)
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            bad(where, f"weight must be a number above 0 (percent of the total), not {weight!r}", f"{at}.weight" if "weight" in item else at)
            weight = 0
        kind = item.get("type", "points" if "max" in item else None)
        if kind not in KINDS:
            bad(where, f"type must be 'points' (with max) or 'yesno', not {kind!r}", f"{at}.type" if "type" in item else at)
            continue
        max_points = 1
        if kind == "points":
            max_points = item.get("max")
            if isinstance(max_points, bool) or not isinstance(max_points, int) or not 1 <= max_points <= 100:
                bad(where, f"max must be a whole number of points from 1 to 100, not {max_points!r}", f"{at}.max" if "max" in item else at)
                continue
        elif "max" in item and item["max"] != 1:
            bad(where, "a yesno criterion has no max (it scores 0 or 1)", f"{at}.max")
            continue
        criteria.append(Criterion(key, labels, float(weight), kind, max_points))
    if not problems:
        total = sum(c.weight for c in criteria)
        if abs(total - WEIGHT_TOTAL) > 0.01:
            bad("criteria", f"weights add up to {total:g}, not 100", "criteria")
    if problems:
        raise CardError(problems)
    return Scorecard(name, titles, tuple(criteria))


def _is_key(text: str) -> bool:
    return bool(text) and len(text) <= 40 and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in text)


def _labels(value: Any, where: str, at: str, bad: Any, *, required: bool, fallback: str | None = None) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        bad(where, "label must give zh_CN and en, e.g. {zh_CN: 问候语, en: Greeting}", at if value is not None else fallback)
        return {}
    labels = {}
    for locale in LOCALES:
        text = value.get(locale)
        if not isinstance(text, str) or not text.strip():
            bad(where, f"label has no {locale} text", at)
        else:
            labels[locale] = text.strip()
    return labels


def card_to_dict(card: Scorecard) -> dict[str, Any]:
    out: dict[str, Any] = {"name": card.name, "title": dict(card.titles), "criteria": []}
    for c in card.criteria:
        item: dict[str, Any] = {"key": c.key, "label": dict(c.labels), "weight": c.weight}
        if c.kind == "yesno":
            item["type"] = "yesno"
        else:
            item["max"] = c.max_points
        out["criteria"].append(item)
    return out


# -- answers ---------------------------------------------------------------------------------------------

def parse_value(criterion: Criterion, value: Any) -> int:
    """One answer as points: yes/no (是/否, 1/0) for a yesno criterion, 0..max for points."""
    if criterion.kind == "yesno":
        text = str(value).strip().lower()
        if value is True or text in YES:
            return 1
        if value is False or text in NO:
            return 0
        raise AnswerError(f"{criterion.key}: '{value}' is not yes or no", f"write {criterion.key}=yes or {criterion.key}=no")
    try:
        points = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        points = None
    if points is None or not 0 <= points <= criterion.max_points:
        raise AnswerError(f"{criterion.key}: '{value}' is out of range (0 to {criterion.max_points} points)",
                          f"give a whole number from 0 to {criterion.max_points}, e.g. {criterion.key}={criterion.max_points}")
    return points


def check_answers(card: Scorecard, answers: Mapping[str, Any], *, complete: bool = True) -> dict[str, int]:
    """Every answer checked against the card; with ``complete`` every criterion must be answered."""
    out: dict[str, int] = {}
    for key, value in answers.items():
        criterion = card.criterion(key)
        if criterion is None:
            known = ", ".join(c.key for c in card.criteria)
            raise AnswerError(f"scorecard '{card.name}' has no criterion '{key}'", f"its criteria: {known}")
        out[key] = parse_value(criterion, value)
    if complete:
        missing = [c.key for c in card.criteria if c.key not in out]
        if missing:
            raise AnswerError(f"no answer for {', '.join(missing)}",
                              f"give each criterion of '{card.name}' as --set KEY=VALUE ('cc qa cards' lists them)")
    return {c.key: out[c.key] for c in card.criteria if c.key in out}


def weighted_total(card: Scorecard, answers: Mapping[str, int]) -> float:
    """0-100: each criterion's share of its weight (points / max), summed; unanswered count 0."""
    total = sum(c.weight * answers.get(c.key, 0) / c.max_points for c in card.criteria)
    return round(total * 100 / sum(c.weight for c in card.criteria), 1) if card.criteria else 0.0


# -- grouping --------------------------------------------------------------------------------------------

def period_label(day: date, by: str) -> str:
    """The period a local date falls in: 2026-11-26 (day), 2026-W48 (ISO week), 2026-11 (month)."""
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{day.year}-{day.month:02d}"
    raise ValueError(f"period '{by}' is not one of {', '.join(PERIODS)}")


def period_spans(first: date, last: date, by: str) -> list[tuple[str, date, date]]:
    """Local days ``first``..``last`` grouped into periods: (label, first day, the day after the last)."""
    spans: list[tuple[str, date, date]] = []
    day = first
    while day <= last:
        label = period_label(day, by)
        if spans and spans[-1][0] == label:
            spans[-1] = (label, spans[-1][1], day + timedelta(days=1))
        else:
            spans.append((label, day, day + timedelta(days=1)))
        day += timedelta(days=1)
    return spans


def average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
