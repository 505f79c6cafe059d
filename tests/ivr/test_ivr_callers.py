"""Caller classification before the menu: through the customers/orders/accounts services, and through the
call store's read-only query (the lean AGI process) — the same answer both ways."""

from __future__ import annotations

import fd_guard

from cc.clock import FrozenClock
from cc.config import Config
from cc.services.callers import normalize_caller_id, services_lookup, store_lookup
from cc.services.container import build_services
from cc.store.calls import CallStore


def test_both_lookups_agree(tmp_path):
    services = fd_guard.close_after_test(build_services(Config(db=str(tmp_path / "cc.db")), clock=FrozenClock()))
    services.customers.add(phone="13800138000", name="王芳", tags=["vip"])
    services.accounts.topup("13800138000", 12345)
    services.customers.add(phone="13900000000", name="x", tags=["blacklist"])
    store = CallStore(services.db)
    for lookup in (services_lookup(services), store_lookup):
        vip = lookup(store, "13800138000")
        assert (vip.number, vip.known, vip.vip, vip.blacklisted, vip.balance_fen) == ("+8613800138000", True, True, False, 12345)
        assert lookup(store, "+86 139-0000-0000").blacklisted
        stranger = lookup(store, "13700000000")
        assert (stranger.known, stranger.number) == (False, "+8613700000000")
        assert lookup(store, "anonymous").number == "anonymous"


def test_caller_id_normalisation():
    assert normalize_caller_id("008613800138000") == "+8613800138000"
    assert normalize_caller_id("010-62345678") == "+861062345678"
    assert normalize_caller_id("101") == "101"  # an extension stays as it is
    assert normalize_caller_id("") == ""
