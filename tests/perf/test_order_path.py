"""The lean order path (entry inserted already awaiting confirmation, confirmation charged in one
compare-and-set) keeps every step in the history and every refusal it had."""

from __future__ import annotations

import random
import sqlite3

import pytest

from cc.clock import FrozenClock
from cc.config import Config
from cc.errors import Refused
from cc.services.container import build_services

PHONE = "+8613800138000"


@pytest.fixture
def world(tmp_path):
    services = build_services(Config(db=str(tmp_path / "cc.db")), clock=FrozenClock("2026-11-26T02:00:00+00:00"),
                              rng=random.Random(3))
    services.catalog.add_product("MILK-1L", name="鲜牛奶", price_fen=500, unit="瓶")
    services.catalog.set_stock("MILK-1L", 100)
    services.customers.add(phone=PHONE, name="张三", address="北京市")
    services.accounts.topup(PHONE, 100_00)
    yield services
    services.close()


def _history(services, code: str) -> list[tuple]:  # noqa: ANN001
    conn = sqlite3.connect(services.config.db)
    try:
        return conn.execute(
            "SELECT e.from_status, e.to_status, e.reason FROM order_events e JOIN orders o ON o.id = e.order_id"
            " WHERE o.code = ? ORDER BY e.id", (code,)).fetchall()
    finally:
        conn.close()


def test_entry_and_confirmation_keep_every_step_in_the_history(world):
    order = world.orders.new(phone=PHONE, items=[("MILK-1L", 1)], deliveries=10)
    assert order.status == "awaiting_confirmation" and order.expires_at
    assert world.orders.get(order.code).expires_at == order.expires_at
    charged = world.orders.confirm(order.code, deliver_now=False)
    assert charged.status == "charged"
    assert _history(world, order.code) == [
        (None, "draft", "entered"), ("draft", "awaiting_confirmation", "submitted"),
        ("awaiting_confirmation", "confirmed", "confirmed by phone"), ("confirmed", "charged", "charged 50.00"),
    ]
    assert world.store.stock_row("MILK-1L")["quantity"] == 90 and world.store.stock_row("MILK-1L")["reserved"] == 0


def test_a_short_stock_refuses_the_entry_and_writes_nothing(world):
    world.accounts.topup(PHONE, 1000_00)
    with pytest.raises(Refused, match="not enough stock of MILK-1L: 100 available, 101 needed"):
        world.orders.new(phone=PHONE, items=[("MILK-1L", 101)], deliveries=1)
    assert world.orders.list() == [] and world.store.stock_row("MILK-1L")["reserved"] == 0


def test_a_failed_charge_records_confirmed_then_the_failure_and_releases_the_stock(world):
    order = world.orders.new(phone=PHONE, items=[("MILK-1L", 2)], deliveries=10)  # 100.00, all of the balance
    world.store.add_ledger_entry(customer_id=order.customer_id, kind="adjustment", amount_fen=-1, key="test:1",
                                 now="2026-11-26T02:00:00.000+00:00")
    with pytest.raises(Refused, match="balance 99.99 is short of 100.00"):
        world.orders.confirm(order.code, deliver_now=False)
    assert world.orders.get(order.code).status == "payment_failed"
    assert _history(world, order.code)[-2:] == [
        ("awaiting_confirmation", "confirmed", "confirmed by phone"),
        ("confirmed", "payment_failed", "balance 99.99 short of 100.00"),
    ]
    assert world.store.stock_row("MILK-1L")["reserved"] == 0


def test_a_code_already_taken_is_drawn_again(world):
    first = world.orders.new(phone=PHONE, items=[("MILK-1L", 1)], deliveries=1)
    world.orders.rng = random.Random(3)  # the same draws again: the first code comes up first
    refused = []
    insert = world.store.insert_order
    world.store.insert_order = lambda fields, lines: refused.append(fields["code"]) if (got := insert(fields, lines)) is None else got
    second = world.orders.new(phone=PHONE, items=[("MILK-1L", 1)], deliveries=1)
    assert refused == [first.code]
    assert second.code != first.code and world.orders.get(second.code).id == second.id
