"""Who is calling: the caller's number normalised and looked up (blacklist, VIP, known customer with
balance and orders) before the IVR menu."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cc.domain.ivr import Caller, OrderInfo

_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")


def normalize_caller_id(raw: str) -> str:
    """E.164 when the caller ID is a valid number, else the caller ID as given (anonymous, extensions)."""
    text = re.sub(r"[\s\-()]", "", raw or "")
    match = _CN_MOBILE.match(text)
    if match:  # the common case, without loading phonenumbers
        return "+86" + match.group(1)
    if not text or not re.fullmatch(r"\+?\d{5,20}", text):
        return text
    try:
        from cc.phone import normalize_phone

        return normalize_phone(text)
    except Exception:
        return text


def caller_from_record(number: str, record: dict | None) -> Caller:
    if record is None:
        return Caller(number=number)
    tags = {str(t).lower() for t in record.get("tags") or ()}
    orders = tuple(
        OrderInfo(str(o["code"]), str(o["status"]), int(o.get("deliveries") or 0), int(o.get("deliveries_done") or 0))
        for o in record.get("orders") or ()
    )
    return Caller(
        number=number,
        known=True,
        customer_id=record.get("id"),
        name=record.get("name") or "",
        vip="vip" in tags,
        blacklisted="blacklist" in tags or "blacklisted" in tags,
        balance_fen=int(record.get("balance_fen") or 0),
        orders=orders,
    )


def store_lookup(store: Any, raw: str) -> Caller:
    """Classification straight from the call store's read-only customer query (lean AGI process)."""
    number = normalize_caller_id(raw)
    return caller_from_record(number, store.lookup_customer(number) if number.startswith("+") else None)


def services_lookup(services: Any) -> Callable[[Any, str], Caller]:
    """Classification through the customers / orders / accounts services when they are wired in;
    falls back to ``store_lookup`` otherwise."""
    customers = getattr(services, "customers", None)
    if customers is None or not hasattr(customers, "find_by_phone"):
        return store_lookup
    orders_service = getattr(services, "orders", None)
    accounts = getattr(services, "accounts", None)

    def lookup(store: Any, raw: str) -> Caller:
        number = normalize_caller_id(raw)
        if not number.startswith("+"):
            return Caller(number=number)
        view = customers.find_by_phone(number)
        if view is None:
            return Caller(number=number)
        record = {
            "id": getattr(view, "id", None),
            "name": getattr(view, "name", ""),
            "tags": getattr(view, "tags", frozenset()),
            "balance_fen": getattr(view, "balance_fen", 0),
            "orders": [],
        }
        if accounts is not None and hasattr(accounts, "balance_fen"):
            record["balance_fen"] = accounts.balance_fen(number)
        if orders_service is not None and hasattr(orders_service, "list_for_phone"):
            record["orders"] = [
                {
                    "code": o.code,
                    "status": str(getattr(o.status, "value", o.status)),
                    "deliveries": getattr(o, "deliveries", 0),
                    "deliveries_done": getattr(o, "deliveries_done", 0),
                }
                for o in orders_service.list_for_phone(number)
            ]
        return caller_from_record(number, record)

    return lookup
