"""Reading a customer's SMS reply to an order confirmation. Pure: text in, intent out.

Real replies look like ``Y``, ``y``, ``Ｙ`` (full-width), ``是``, ``确认 1234``, ``1234Y``, ``好的👍``,
``N``, ``不要了``, ``取消1234``, ``1``/``2`` (menu style), ``TD`` / ``退订`` (opt out of marketing), or
anything else (questions, stickers, nothing at all).

>>> parse_reply("确认 1234")
ParsedReply(intent=<Intent.CONFIRM: 'confirm'>, code='1234')
>>> parse_reply(" ｎ ").intent
<Intent.REJECT: 'reject'>
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Intent(str, enum.Enum):
    CONFIRM = "confirm"
    REJECT = "reject"
    OPT_OUT = "opt_out"
    UNKNOWN = "unknown"  # words we do not understand, or a contradiction ("Y N")
    EMPTY = "empty"  # nothing but spaces, punctuation or emoji


@dataclass(frozen=True)
class ParsedReply:
    intent: Intent
    code: str | None = None  # an order code written in the reply, when there is exactly one


# Latin words, compared upper-case after NFKC (full-width letters become ASCII).
_CONFIRM_WORDS = {"Y", "YES", "YEP", "OK", "OKAY", "SURE", "CONFIRM", "SHI", "QUEREN"}
_REJECT_WORDS = {"N", "NO", "NOPE", "CANCEL", "FOU", "QUXIAO"}
_OPT_OUT_WORDS = {"TD", "STOP", "UNSUBSCRIBE", "TUIDING"}

# Chinese: a run of Han characters is read by the keywords it contains. Negations win over assent
# ("不确认", "不是" reject), opting out wins over both ("退订"). Short words only count when they are the
# whole run (after dropping particles), so "你好" is not a yes.
_OPT_OUT_HAN = ("退订", "退定", "取消订阅")
_REJECT_HAN = ("取消", "不要", "不用", "不需要", "不确认", "不是", "不对", "不同意", "拒绝", "算了")
_CONFIRM_HAN = ("确认", "确定", "同意", "没问题")
_REJECT_HAN_EXACT = {"否", "不", "不行", "错"}
_CONFIRM_HAN_EXACT = {"是", "好", "对", "要", "行", "嗯", "可以", "是我", "好滴"}
_PARTICLES = "的了吧啊呀哦嘛呢啦哈"

# A code is a run of 3 to 8 digits (order codes have 6); a lone 1 or 2 is a menu answer; longer runs
# (a phone number, an amount) are neither.
CODE_MIN_DIGITS = 3
CODE_MAX_DIGITS = 8

_TOKEN = re.compile(r"[0-9]+|[A-Z]+|[\u3400-\u9fff\uf900-\ufaff]+")


def normalize_text(text: str) -> str:
    """Full-width to half-width, upper case, emoji and symbols dropped; kept: letters, digits, Han, spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in ("L", "N"):
            out.append(ch.upper())
        else:  # punctuation, symbols (emoji), marks (variation selectors), separators, controls, surrogates
            out.append(" ")
    return " ".join("".join(out).split())


def parse_reply(text: str) -> ParsedReply:
    tokens = _TOKEN.findall(normalize_text(text))
    if not tokens:
        return ParsedReply(Intent.EMPTY)
    intents: set[Intent] = set()
    codes: list[str] = []
    digits_menu: list[str] = []
    for token in tokens:
        if token.isdigit():
            if len(token) > CODE_MAX_DIGITS:
                continue
            if len(token) >= CODE_MIN_DIGITS:
                codes.append(token)
            else:
                digits_menu.append(token)
        elif token.isascii():
            if token in _OPT_OUT_WORDS:
                intents.add(Intent.OPT_OUT)
            elif token in _CONFIRM_WORDS:
                intents.add(Intent.CONFIRM)
            elif token in _REJECT_WORDS:
                intents.add(Intent.REJECT)
            else:
                intents.add(Intent.UNKNOWN)
        else:
            intents.add(_han_intent(token))
    if not intents - {Intent.UNKNOWN} and digits_menu:
        # "1" / "2" answer like a menu only when no word says otherwise.
        for d in digits_menu:
            intents.add({"1": Intent.CONFIRM, "2": Intent.REJECT}.get(d, Intent.UNKNOWN))
    code = codes[0] if len(set(codes)) == 1 else None
    if Intent.OPT_OUT in intents:
        return ParsedReply(Intent.OPT_OUT, code)
    decided = intents & {Intent.CONFIRM, Intent.REJECT}
    if len(decided) == 1:
        # A stray unknown word next to a clear answer ("Y thanks") does not spoil it.
        return ParsedReply(decided.pop(), code)
    return ParsedReply(Intent.UNKNOWN, code)


def _han_intent(run: str) -> Intent:
    if any(word in run for word in _OPT_OUT_HAN):
        return Intent.OPT_OUT
    if any(word in run for word in _REJECT_HAN):
        return Intent.REJECT
    if any(word in run for word in _CONFIRM_HAN):
        return Intent.CONFIRM
    bare = run.rstrip(_PARTICLES) or run
    if bare in _REJECT_HAN_EXACT:
        return Intent.REJECT
    if bare in _CONFIRM_HAN_EXACT:
        return Intent.CONFIRM
    return Intent.UNKNOWN
