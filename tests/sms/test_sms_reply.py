"""Reply parsing: real-looking replies, table-driven."""

import pytest

from cc.domain.sms_reply import Intent, normalize_text, parse_reply

C, R, O, U, E = Intent.CONFIRM, Intent.REJECT, Intent.OPT_OUT, Intent.UNKNOWN, Intent.EMPTY

CASES = [
    # confirm
    ("Y", C, None), ("y", C, None), (" y ", C, None), ("Ｙ", C, None), ("ｙｅｓ", C, None), ("Yes", C, None),
    ("ok", C, None), ("是", C, None), ("是的", C, None), ("确认", C, None), ("确认！", C, None), ("确定", C, None),
    ("好的", C, None), ("好", C, None), ("嗯", C, None), ("1", C, None), ("１", C, None), ("同意", C, None),
    ("Y 123456", C, "123456"), ("Y123456", C, "123456"), ("123456Y", C, "123456"), ("123456 y", C, "123456"),
    ("确认123456", C, "123456"), ("确认 123456", C, "123456"), ("１２３４５６　Ｙ", C, "123456"),
    ("Y👍", C, None), ("👍Y", C, None), ("好的👌谢谢", C, None), ("Y。", C, None), ("【Y】", C, None),
    ("Y thanks", C, None), ("y\n", C, None), ("  Y  ", C, None), ("确认订单", C, None),
    # reject
    ("N", R, None), ("n", R, None), ("Ｎ", R, None), ("no", R, None), ("否", R, None), ("取消", R, None),
    ("不要了", R, None), ("不用了", R, None), ("不", R, None), ("2", R, None), ("２", R, None),
    ("N 123456", R, "123456"), ("取消123456", R, "123456"), ("123456N", R, "123456"), ("不确认", R, None),
    ("不是", R, None), ("算了吧", R, None), ("N😂", R, None),
    # opt out
    ("TD", O, None), ("td", O, None), ("ＴＤ", O, None), ("退订", O, None), ("退订！", O, None), ("STOP", O, None),
    # cannot tell
    ("", E, None), ("   ", E, None), ("👍", E, None), ("。。。", E, None), ("\u3000", E, None),
    ("你好", U, None), ("请问什么时候送", U, None), ("Y N", U, None), ("是 不是", U, None), ("3", U, None),
    ("123456", U, "123456"), ("Y 我的电话13800138000", C, None), ("13800138000", U, None), ("hello", U, None), ("Y 123456 654321", C, None), ("\ud83d", E, None),
]


@pytest.mark.parametrize(("text", "intent", "code"), CASES)
def test_parse_reply(text: str, intent: Intent, code: str | None) -> None:
    parsed = parse_reply(text)
    assert (parsed.intent, parsed.code) == (intent, code), text


def test_normalize_full_width_and_symbols() -> None:
    assert normalize_text("Ｙ　１２３４！😀") == "Y 1234"
    assert normalize_text(None) == ""  # type: ignore[arg-type]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_without_error(text: str) -> None:
    parsed = parse_reply(text)
    assert parsed.intent in Intent
    assert parsed.code is None or (parsed.code.isdigit() and 3 <= len(parsed.code) <= 8)
