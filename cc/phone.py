"""Phone numbers are normalised once, at the edge, to E.164 (``+8613800138000``) and stored that way."""

from __future__ import annotations

from functools import lru_cache

from cc.errors import UsageError

DEFAULT_REGION = "CN"


@lru_cache(maxsize=4096)
def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str:
    import phonenumbers

    raw = (text or "").strip()
    if not raw:
        raise UsageError("phone number is empty", "give a number such as 13800138000 or +8613800138000")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise UsageError(
            f"'{raw}' is not a valid phone number",
            "give a mobile such as 13800138000, a landline with area code such as 010-62345678, or +86...",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """How a stored number is shown to Chinese staff: national digits for +86, E.164 otherwise."""
    if e164.startswith("+86"):
        return e164[3:]
    return e164
