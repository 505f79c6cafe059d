"""Campaigns: channels, segments, the small filter language, campaign windows and message templates.
Pure: the store turns a compiled segment and filter into SQL; time comes in as arguments.

Segments (``--segment``):
    all                   every customer
    dormant:N             ordered before (a paid order), but no order in the last N days
    ending:N              a paid subscription (order) ends within N days and nothing newer follows it
    birthday              birthday (MM-DD) is today
    first_order:N         exactly one paid order, placed in the last N days (a thank-you)
    tag:NAME              customers with this tag

Filters (``--filter``), combined with and / or / not and parentheses:
    zone = 海淀   name ~ 张   tag = vip   tag != vip   balance < 10   orders >= 2   last_order_days > 30
    birthday_month = 12
Values are words, numbers or quoted text ('a b' or "a b"); balance is in yuan.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Channel(StrEnum):
    SMS = "sms"
    CALL = "call"
    SMS_THEN_CALL = "sms_then_call"


CHANNELS = tuple(c.value for c in Channel)
SEGMENT_KINDS = {"all": False, "dormant": True, "ending": True, "birthday": False, "first_order": True, "tag": True}
TEMPLATE_FIELDS = ("name", "brand", "hotline", "end_date", "zone")
BLACKLIST_TAGS = ("blacklist", "blacklisted")
PAID_STATUSES = ("charged", "sent_to_dairy", "in_delivery", "completed")


class CampaignRuleError(ValueError):
    """Bad campaign definition; the service turns it into a UsageError with a hint."""


@dataclass(frozen=True)
class Segment:
    kind: str
    arg: str | int | None = None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


def parse_segment(text: str) -> Segment:
    kind, sep, arg = (text or "").strip().partition(":")
    kind = kind.strip().lower()
    if kind not in SEGMENT_KINDS:
        raise CampaignRuleError(f"unknown segment {text!r}; use one of: all, dormant:N, ending:N, birthday, first_order:N, tag:NAME")
    needs = SEGMENT_KINDS[kind]
    arg = arg.strip()
    if needs and not arg:
        raise CampaignRuleError(f"segment {kind} needs a value, e.g. {kind}:{'vip' if kind == 'tag' else '30'}")
    if not needs:
        if sep:
            raise CampaignRuleError(f"segment {kind} takes no value")
        return Segment(kind)
    if kind == "tag":
        return Segment(kind, arg.lower())
    try:
        days = int(arg)
    except ValueError:
        raise CampaignRuleError(f"segment {kind}: {arg!r} is not a whole number of days") from None
    if days < 0 or days > 36500:
        raise CampaignRuleError(f"segment {kind}: days must be between 0 and 36500")
    return Segment(kind, days)


def window_no(today: date, window_days: int) -> int:
    """Which campaign window a local date falls in: a customer is contacted at most once per window."""
    if window_days < 1:
        raise CampaignRuleError("window_days must be at least 1")
    return today.toordinal() // window_days


def check_template(template: str, channel: str) -> None:
    if channel in (Channel.SMS, Channel.SMS_THEN_CALL) and not (template or "").strip():
        raise CampaignRuleError("an SMS campaign needs a --template")
    try:
        parsed = list(string.Formatter().parse(template or ""))
    except ValueError as exc:
        raise CampaignRuleError(f"template: {exc} (write a literal brace as {{{{ or }}}})") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS or spec or conversion:
            fields = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            raise CampaignRuleError(f"template: unknown field {{{name}}}; use {fields}")


def render(template: str, **fields: object) -> str:
    return template.format(**{k: ("" if fields.get(k) is None else fields.get(k)) for k in TEMPLATE_FIELDS})


def renderer(template: str, *, brand: str, hotline: str):  # noqa: ANN201
    """A fast ``(name, end_date, zone) -> text`` for one campaign run (the template was checked at add)."""
    fmt = template.format

    def text(name: object, end_date: object, zone: object) -> str:
        return fmt(name=name or "", brand=brand, hotline=hotline, end_date=end_date or "", zone=zone or "")

    return text


# --- the filter language ----------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(\()|(\))|(<=|>=|!=|=|<|>|~)|'([^']*)'|\"([^\"]*)\"|([^\s()<>=!~'\"]+))")
_TEXT_FIELDS = {"zone": "c.zone", "name": "c.name", "address": "c.address"}
_NUMBER_FIELDS = {
    "balance": "COALESCE((SELECT a.balance_fen FROM accounts a WHERE a.customer_id = c.id), 0)",
    "orders": "(SELECT COUNT(*) FROM orders o WHERE o.customer_id = c.id AND o.status IN "
              "('charged', 'sent_to_dairy', 'in_delivery', 'completed'))",
    "last_order_days": "COALESCE(julianday(?) - julianday((SELECT MAX(o.created_at) FROM orders o"
                       " WHERE o.customer_id = c.id)), 1e9)",
    "birthday_month": "CAST(substr(c.birthday, 6, 2) AS INTEGER)",
}
FILTER_FIELDS = (*_TEXT_FIELDS, "tag", *_NUMBER_FIELDS)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise CampaignRuleError(f"filter: cannot read {text[pos:]!r}")
        pos = match.end()
        lp, rp, op, q1, q2, word = match.groups()
        if lp:
            out.append(("(", lp))
        elif rp:
            out.append((")", rp))
        elif op:
            out.append(("op", op))
        elif q1 is not None or q2 is not None:
            out.append(("value", q1 if q1 is not None else q2))
        else:
            low = word.lower()
            out.append((low, low) if low in ("and", "or", "not") else ("word", word))
    return out


def compile_filter(text: str, now_iso: str) -> tuple[str, list]:
    """``zone = 海淀 and balance < 10`` -> (SQL over customers ``c``, parameters). Fields come from a fixed
    list and values are always parameters, so a filter can never run SQL of its own."""
    if not (text or "").strip():
        return "1", []
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take(kind: str | None = None) -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise CampaignRuleError("filter: ends too early")
        token = tokens[pos]
        if kind and token[0] != kind:
            raise CampaignRuleError(f"filter: expected {kind} at {token[1]!r}")
        pos += 1
        return token

    def expr() -> tuple[str, list]:
        sql, params = conj()
        while peek() == "or":
            take()
            right, more = conj()
            sql, params = f"({sql} OR {right})", params + more
        return sql, params

    def conj() -> tuple[str, list]:
        sql, params = unary()
        while peek() == "and":
            take()
            right, more = unary()
            sql, params = f"({sql} AND {right})", params + more
        return sql, params

    def unary() -> tuple[str, list]:
        if peek() == "not":
            take()
            sql, params = unary()
            return f"(NOT {sql})", params
        if peek() == "(":
            take()
            sql, params = expr()
            take(")")
            return sql, params
        return comparison()

    def comparison() -> tuple[str, list]:
        _, field = take("word")
        field = field.lower()
        _, op = take("op")
        kind, value = take()
        if kind not in ("word", "value"):
            raise CampaignRuleError(f"filter: expected a value after {field} {op}")
        if field == "tag":
            if op not in ("=", "!="):
                raise CampaignRuleError("filter: tag takes = or !=")
            sql = "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = ?)"
            return (sql if op == "=" else f"NOT {sql}"), [value.strip().lower()]
        if field in _TEXT_FIELDS:
            column = _TEXT_FIELDS[field]
            if op == "~":
                return f"{column} LIKE ?", [f"%{value}%"]
            return f"{column} {'<>' if op == '!=' else op} ?", [value]
        if field in _NUMBER_FIELDS:
            if op == "~":
                raise CampaignRuleError(f"filter: ~ (contains) is for text, not {field}")
            try:
                number = float(value)
            except ValueError:
                raise CampaignRuleError(f"filter: {field} needs a number, not {value!r}") from None
            if field == "balance":
                number = round(number * 100)  # yuan -> fen
            column = _NUMBER_FIELDS[field]
            params = [now_iso] if "?" in column else []
            return f"{column} {'<>' if op == '!=' else op} ?", [*params, number]
        raise CampaignRuleError(f"filter: unknown field {field!r}; use one of: {', '.join(FILTER_FIELDS)}")

    sql, params = expr()
    if pos != len(tokens):
        raise CampaignRuleError(f"filter: unexpected {tokens[pos][1]!r}")
    return sql, params
