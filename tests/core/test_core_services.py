"""The order pipeline through the services, on a real SQLite file with a frozen clock."""

from __future__ import annotations

import json
from datetime import date

import fd_guard
import pytest
from core_helpers import MILK, PHONE, PHONE2, YOGURT, invariant_violations, make_services, query, snapshot

from cc.errors import NotFound, PermissionDenied, Refused, UsageError

TOMORROW = date(2026, 11, 27)


def stock(svc, sku):  # noqa: ANN001, ANN201
    p = svc.catalog.product(sku)
    return p["quantity"], p["reserved"]


def balance(svc, phone=PHONE):  # noqa: ANN001, ANN201
    return svc.accounts.balance_fen(phone)


def statuses(db_path, code):  # noqa: ANN001, ANN201
    return [r["to_status"] for r in query(db_path, "SELECT e.to_status FROM order_events e JOIN orders o ON o.id = e.order_id"
                                                   " WHERE o.code = ? ORDER BY e.id", (code,))]


@pytest.fixture(autouse=True)
def _check_invariants(request, db_path):
    yield
    if db_path.exists():
        assert invariant_violations(db_path) == []


# --- entry -------------------------------------------------------------------------------------------
def test_new_order_reserves_stock_and_waits(world, db_path):
    order = world.orders.new(phone="13800138000", items=[(MILK, 2), (YOGURT, 1)], deliveries=5)
    assert order.status == "awaiting_confirmation"
    assert order.total_fen == (2 * 500 + 350) * 5
    assert order.start_date == "2026-11-27" and order.end_date == "2026-12-01"
    assert order.expires_at == "2026-11-26T04:00:00.000+00:00"  # 120 minutes
    assert stock(world, MILK) == (100, 10) and stock(world, YOGURT) == (50, 5)
    assert balance(world) == 100_00  # nothing charged yet
    assert statuses(db_path, order.code) == ["draft", "awaiting_confirmation"]
    assert world.orders.get(order.code).phone == PHONE


def test_new_order_until(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], start=TOMORROW, until=date(2026, 12, 6))
    assert order.deliveries == 10 and order.total_fen == 50_00


def test_a_stale_draft_needs_a_new_start_date_before_submission(world, clock):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=2, submit=False)  # starts 2026-11-27
    clock.advance(days=2)
    with pytest.raises(UsageError, match="now in the past"):
        world.orders.submit(order.code)
    world.orders.amend(order.code, start=date(2026, 11, 29))
    submitted = world.orders.submit(order.code)
    assert (submitted.status, submitted.start_date, submitted.end_date) == ("awaiting_confirmation", "2026-11-29", "2026-11-30")


def test_draft_reserves_nothing_until_submitted(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], submit=False)
    assert order.status == "draft" and stock(world, MILK) == (100, 0)
    order = world.orders.submit(order.code)
    assert order.status == "awaiting_confirmation" and stock(world, MILK) == (100, 1)
    with pytest.raises(Refused):
        world.orders.submit(order.code)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"items": [(MILK, 1)], "deliveries": 201}, Refused, "balance 100.00 is short of the order total 1005.00"),
        ({"items": [(MILK, 101)], "phone": PHONE2}, Refused, "not enough stock of MILK-1L: 100 available, 101 needed"),
        ({"items": [("NOPE", 1)]}, NotFound, "unknown product SKU 'NOPE'"),
        ({"items": [(MILK, 0)]}, UsageError, "at least 1"),
        ({"items": []}, UsageError, "at least one item"),
        ({"items": [(MILK, 1)], "start": date(2026, 11, 25)}, UsageError, "in the past"),
        ({"items": [(MILK, 1)], "deliveries": 0}, UsageError, "at least 1"),
        ({"items": [(MILK, 1)], "frequency": "monthly"}, UsageError, "unknown frequency"),
        ({"items": [(MILK, 1)], "phone": "12345"}, UsageError, "not a valid phone number"),
        ({"items": [(MILK, 1)], "phone": "13700137000"}, NotFound, "no customer"),
    ],
)
def test_bad_orders_change_nothing(world, db_path, kwargs, error, text):
    world.accounts.topup(PHONE2, 10_000_00)
    before = snapshot(db_path)
    kwargs = {"phone": PHONE, **kwargs}
    with pytest.raises(error) as info:
        world.orders.new(**kwargs)
    assert text in info.value.message
    assert info.value.hint
    assert snapshot(db_path) == before


def test_available_stock_counts_reservations(world):
    world.accounts.topup(PHONE, 1000_00)
    world.orders.new(phone=PHONE, items=[(MILK, 60)])
    with pytest.raises(Refused, match="40 available, 41 needed"):
        world.orders.new(phone=PHONE, items=[(MILK, 41)])
    world.orders.new(phone=PHONE, items=[(MILK, 40)])
    assert stock(world, MILK) == (100, 100)


def test_blacklisted_customer_cannot_order(world):
    world.customers.edit(PHONE2, add_tags=["blacklist"])
    with pytest.raises(Refused, match="blacklisted"):
        world.orders.new(phone=PHONE2, items=[(MILK, 1)])


def test_inactive_product_cannot_be_ordered(world):
    world.catalog.add_product(MILK, name="鲜牛奶", price_fen=500, active=False)
    with pytest.raises(NotFound):
        world.orders.new(phone=PHONE, items=[(MILK, 1)])


def test_price_change_does_not_touch_entered_orders(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=2)
    world.catalog.add_product(MILK, name="鲜牛奶", price_fen=600)
    assert world.orders.get(order.code).total_fen == 10_00
    assert world.orders.confirm(order.code).total_fen == 10_00
    assert balance(world) == 90_00


# --- amend, cancel, reject, expire -------------------------------------------------------------------
def test_amend_re_reserves_and_re_totals(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=3)
    assert stock(world, MILK) == (100, 6)
    amended = world.orders.amend(order.code, items=[(YOGURT, 1), (MILK, 1)], deliveries=4)
    assert amended.total_fen == (350 + 500) * 4
    assert stock(world, MILK) == (100, 4) and stock(world, YOGURT) == (50, 4)
    assert amended.status == "awaiting_confirmation"
    amended = world.orders.amend(order.code, until=date(2026, 11, 28))
    assert amended.deliveries == 2 and amended.total_fen == 850 * 2 and stock(world, MILK) == (100, 2)
    amended = world.orders.amend(order.code, frequency="weekly", start=date(2026, 12, 1))
    assert (amended.frequency, amended.start_date, amended.end_date) == ("weekly", "2026-12-01", "2026-12-08")
    events = world.orders.show(order.code).events
    assert [e.reason for e in events].count("amended") == 3


def test_amend_refused_by_stock_or_balance_keeps_the_old_order(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=3)
    before = snapshot(db_path)
    with pytest.raises(Refused, match="short of the order total"):
        world.orders.amend(order.code, deliveries=100)
    assert snapshot(db_path) == before
    world.accounts.topup(PHONE, 10_000_00)
    before = snapshot(db_path)
    with pytest.raises(Refused, match="not enough stock of MILK-1L: 100 available, 600 needed"):
        world.orders.amend(order.code, items=[(MILK, 200)])
    assert snapshot(db_path) == before
    assert stock(world, MILK) == (100, 6)


def test_amend_a_draft(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)], submit=False)
    amended = world.orders.amend(order.code, items=[(MILK, 3)], deliveries=2)
    assert amended.status == "draft" and amended.total_fen == 30_00 and stock(world, MILK) == (100, 0)


def test_no_amend_after_confirmation(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)])
    world.orders.confirm(order.code)
    with pytest.raises(Refused, match="can no longer be amended") as info:
        world.orders.amend(order.code, items=[(MILK, 2)])
    assert "supervisor" in info.value.hint


def test_cancel_releases(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=3)
    cancelled = world.orders.cancel(order.code, reason="customer changed mind")
    assert cancelled.status == "cancelled" and stock(world, MILK) == (100, 0)
    assert world.orders.show(order.code).events[-1].reason == "customer changed mind"
    with pytest.raises(Refused):
        world.orders.cancel(order.code)
    with pytest.raises(Refused):
        world.orders.confirm(order.code)
    draft = world.orders.new(phone=PHONE, items=[(MILK, 2)], submit=False)
    assert world.orders.cancel(draft.code).status == "cancelled"
    assert stock(world, MILK) == (100, 0)


def test_reject_releases(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)])
    assert world.orders.reject(order.code, via="sms").status == "rejected"
    assert stock(world, MILK) == (100, 0) and balance(world) == 100_00
    with pytest.raises(Refused, match="not awaiting confirmation"):
        world.orders.reject(order.code)


def test_expire_releases(world, clock):
    early = world.orders.new(phone=PHONE, items=[(MILK, 2)])
    clock.advance(minutes=60)
    late = world.orders.new(phone=PHONE, items=[(MILK, 3)])
    clock.advance(minutes=59)
    assert world.orders.expire_due() == []
    clock.advance(minutes=1)
    expired = world.orders.expire_due()
    assert [o.code for o in expired] == [early.code] and expired[0].status == "expired"
    assert stock(world, MILK) == (100, 3)
    clock.advance(minutes=60)
    assert [o.code for o in world.orders.expire_due()] == [late.code]
    assert stock(world, MILK) == (100, 0)
    assert world.orders.expire_due() == []


def test_confirm_after_the_window_expires_instead_of_charging(world, clock):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2)])
    clock.advance(minutes=121)
    with pytest.raises(Refused, match="expired"):
        world.orders.confirm(order.code)
    assert world.orders.get(order.code).status == "expired"
    assert balance(world) == 100_00 and stock(world, MILK) == (100, 0)


def test_amend_gives_a_fresh_confirmation_window(world, clock):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)])
    clock.advance(minutes=100)
    world.orders.amend(order.code, items=[(MILK, 2)])
    clock.advance(minutes=100)
    assert world.orders.expire_due() == []
    assert world.orders.confirm(order.code).status == "sent_to_dairy"


# --- confirm and charge ------------------------------------------------------------------------------
def test_confirm_charges_once_and_writes_the_dairy_file(world, db_path, tmp_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 2), (YOGURT, 1)], deliveries=3)
    done = world.orders.confirm(order.code)
    assert done.status == "sent_to_dairy"
    assert statuses(db_path, order.code) == ["draft", "awaiting_confirmation", "confirmed", "charged", "sent_to_dairy"]
    assert balance(world) == 100_00 - 40_50
    assert stock(world, MILK) == (94, 0) and stock(world, YOGURT) == (47, 0)
    charges = query(db_path, "SELECT * FROM ledger WHERE kind = 'charge'")
    assert len(charges) == 1 and charges[0]["amount_fen"] == -40_50
    assert charges[0]["idempotency_key"] == f"charge:order:{order.id}"

    drop = tmp_path / "dairy" / f"{order.code}-order.json"
    message = json.loads(drop.read_text(encoding="utf-8"))
    assert message["order_code"] == order.code and message["kind"] == "order"
    assert message["customer"] == {"name": "张三", "phone": PHONE, "address": "北京市海淀区中关村大街1号", "zone": "海淀"}
    assert [(line["sku"], line["quantity"]) for line in message["lines"]] == [(MILK, 2), (YOGURT, 1)]
    assert message["plan"] == {"start_date": "2026-11-27", "frequency": "daily", "deliveries": 3, "end_date": "2026-11-29"}
    assert message["total_fen"] == 40_50 and message["idempotency_key"] == f"dairy:order:{order.code}"
    assert "鲜牛奶" in drop.read_text(encoding="utf-8")  # UTF-8, not \\u escapes
    assert [p.name for p in drop.parent.iterdir()] == [drop.name]  # no temp files left behind

    with pytest.raises(Refused, match="already confirmed") as info:
        world.orders.confirm(order.code)
    assert info.value.exit_code == 1
    assert len(query(db_path, "SELECT * FROM ledger WHERE kind = 'charge'")) == 1
    assert balance(world) == 100_00 - 40_50


def test_dairy_csv_drop_neutralises_formulas(world, db_path, clock, tmp_path):
    import csv

    from cc.config import Config

    config = Config(db=str(db_path))
    config.dairy.format = "csv"
    svc = fd_guard.close_after_test(make_services(db_path, clock, config=config))
    svc.customers.add(phone="13600136000", name="=cmd|' /C calc'!A0", address="@SUM(A1)", zone="+区")
    svc.accounts.topup("13600136000", 10_00)
    order = svc.orders.new(phone="13600136000", items=[(MILK, 1)])
    svc.orders.confirm(order.code)
    raw = (tmp_path / "dairy" / f"{order.code}-order.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    header, row = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    record = dict(zip(header, row))
    assert record["customer_name"] == "'=cmd|' /C calc'!A0" and record["address"] == "'@SUM(A1)"
    assert record["zone"] == "'+区" and record["product"] == "鲜牛奶"
    assert record["phone"] == "+8613600136000" and record["order_code"] == order.code


def test_dairy_down_leaves_the_order_charged_and_retries_with_backoff(world, db_path, clock, fake_dairy):
    svc = fd_guard.close_after_test(make_services(db_path, clock, dairy_link=fake_dairy))
    fake_dairy.fail = True
    order = svc.orders.new(phone=PHONE, items=[(MILK, 1)])
    assert svc.orders.confirm(order.code).status == "charged"
    [message] = svc.dairy.outbox()
    assert message["status"] == "pending" and message["attempts"] == 1 and "dairy down" in message["last_error"]
    assert svc.dairy.deliver_due() == []  # not due yet: backoff 30 s
    clock.advance(seconds=31)
    [attempt] = svc.dairy.deliver_due()
    assert (attempt.order_code, attempt.status) == (order.code, "pending")
    with pytest.raises(NotFound):
        svc.dairy.retry(999)
    clock.advance(seconds=31)
    fake_dairy.fail = False
    clock.advance(seconds=61)  # the second retry waits twice as long
    attempts = svc.dairy.deliver_due()
    assert [a.status for a in attempts] == ["sent"]
    assert svc.orders.get(order.code).status == "sent_to_dairy"
    assert [m["idempotency_key"] for m in fake_dairy.messages] == [f"dairy:order:{order.code}"]
    assert svc.dairy.deliver_due() == []


def test_dairy_gives_up_after_max_attempts_and_retry_revives(world, db_path, clock, fake_dairy):
    svc = fd_guard.close_after_test(make_services(db_path, clock, dairy_link=fake_dairy))
    svc.config.dairy.max_attempts = 2
    fake_dairy.fail = True
    order = svc.orders.new(phone=PHONE, items=[(MILK, 1)])
    svc.orders.confirm(order.code)
    clock.advance(seconds=3600)
    assert [a.status for a in svc.dairy.deliver_due()] == ["failed"]
    [message] = svc.dairy.outbox(["failed"])
    fake_dairy.fail = False
    svc.dairy.retry(message["id"])
    svc.dairy.deliver_due()
    assert svc.orders.get(order.code).status == "sent_to_dairy"


def test_payment_failed_at_charge_time(world, db_path):
    first = world.orders.new(phone=PHONE, items=[(MILK, 4)], deliveries=3)  # 60.00
    second = world.orders.new(phone=PHONE, items=[(MILK, 4)], deliveries=3)  # also 60.00; 100.00 covers either
    assert stock(world, MILK) == (100, 24)
    world.orders.confirm(first.code)
    with pytest.raises(Refused, match="balance 40.00 is short of 60.00") as info:
        world.orders.confirm(second.code)
    assert "payment_failed" in info.value.hint
    assert world.orders.get(second.code).status == "payment_failed"
    assert stock(world, MILK) == (88, 0)  # the failed order's reservation is released
    assert balance(world) == 40_00
    assert statuses(db_path, second.code)[-2:] == ["confirmed", "payment_failed"]


def test_out_of_stock_at_charge_time(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 5)], deliveries=2)
    # The dairy's count fell below what is reserved outside cc (a direct correction of the stock table).
    world.db.execute("UPDATE stock SET quantity = 8, reserved = 10 WHERE sku = ?", (MILK,))
    with pytest.raises(Refused, match="not enough stock of MILK-1L"):
        world.orders.confirm(order.code)
    assert world.orders.get(order.code).status == "out_of_stock"
    assert stock(world, MILK) == (8, 0) and balance(world) == 100_00
    assert query(db_path, "SELECT * FROM ledger WHERE kind = 'charge'") == []


def test_stock_cannot_be_set_below_reservations(world):
    world.orders.new(phone=PHONE, items=[(MILK, 10)])
    with pytest.raises(Refused, match="less than the 10 reserved"):
        world.catalog.set_stock(MILK, 9)
    assert world.catalog.set_stock(MILK, 10)["quantity"] == 10


# --- refunds -----------------------------------------------------------------------------------------
@pytest.fixture
def staff(world):
    return world


def test_refund_needs_a_supervisor(staff, as_user, db_path):
    order = staff.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=3)
    staff.orders.confirm(order.code)
    before = snapshot(db_path)
    for name in ("wang", "zhao"):
        with pytest.raises(PermissionDenied) as info:
            as_user(name).orders.refund(order.code)
        assert info.value.exit_code == 1
        assert "may not refund orders" in info.value.message and "supervisor" in info.value.hint
    assert snapshot(db_path) == before
    assert as_user("li").orders.refund(order.code, reason="moving house").status == "cancelled"


def test_agent_can_take_orders_but_not_manage_the_catalogue(staff, as_user):
    agent = as_user("wang")
    order = agent.orders.new(phone=PHONE, items=[(MILK, 1)])
    assert order.created_by == "wang"
    assert agent.orders.confirm(order.code).status == "sent_to_dairy"
    with pytest.raises(PermissionDenied):
        agent.catalog.set_stock(MILK, 5)
    with pytest.raises(PermissionDenied):
        agent.users.add("newbie", role="agent", password="secret-9")


def test_full_refund_cancels_restocks_and_tells_the_dairy(staff, as_user, db_path, tmp_path):
    order = staff.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=5)  # 50.00
    staff.orders.confirm(order.code)
    staff.orders.record_deliveries([(2, {"order_code": order.code, "delivered_on": "2026-11-27"}),
                                    (3, {"order_code": order.code, "delivered_on": "2026-11-28"})])
    assert stock(staff, MILK) == (90, 0)
    refunded = as_user("li").orders.refund(order.code, reason="搬家")
    assert refunded.status == "cancelled" and refunded.refunded_fen == 30_00  # 3 undelivered x 10.00
    assert balance(staff) == 100_00 - 50_00 + 30_00
    assert stock(staff, MILK) == (96, 0)  # the 6 undelivered units go back
    [entry] = query(db_path, "SELECT * FROM ledger WHERE kind = 'refund'")
    assert entry["amount_fen"] == 30_00 and entry["actor"] == "li" and entry["note"] == "搬家"
    cancel = json.loads((tmp_path / "dairy" / f"{order.code}-cancel.json").read_text(encoding="utf-8"))
    assert cancel["kind"] == "cancel" and cancel["idempotency_key"] == f"dairy:cancel:{order.code}"
    kinds = sorted(m["kind"] for m in staff.dairy.outbox())
    assert kinds == ["cancel", "order"]
    with pytest.raises(Refused, match="not charged"):
        as_user("li").orders.refund(order.code)


def test_partial_refund_keeps_the_order_going(staff, as_user):
    order = staff.orders.new(phone=PHONE, items=[(MILK, 2)], deliveries=5)  # 50.00
    staff.orders.confirm(order.code)
    li = as_user("li")
    after = li.orders.refund(order.code, amount_fen=5_00, reason="goodwill")
    assert after.status == "sent_to_dairy" and after.refunded_fen == 5_00
    assert balance(staff) == 55_00
    for bad in (0, -5_00):
        with pytest.raises(UsageError, match="must be more than 0.00"):
            li.orders.refund(order.code, amount_fen=bad)
    with pytest.raises(Refused, match="more than the 45.00 still refundable"):
        li.orders.refund(order.code, amount_fen=46_00)
    after = li.orders.refund(order.code, amount_fen=5_00)  # the same amount again is a new refund, not a replay
    assert after.refunded_fen == 10_00
    full = li.orders.refund(order.code)  # the rest: all 5 deliveries undelivered (50.00) capped at 40.00 left
    assert full.status == "cancelled" and full.refunded_fen == 50_00
    assert balance(staff) == 100_00


def test_refund_before_charge_is_refused(staff, as_user):
    order = staff.orders.new(phone=PHONE, items=[(MILK, 2)])
    with pytest.raises(Refused, match="not charged") as info:
        as_user("li").orders.refund(order.code)
    assert "cancel it instead" in info.value.hint


def test_completed_order_only_takes_a_goodwill_refund(staff, as_user):
    order = staff.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=1)
    staff.orders.confirm(order.code)
    staff.orders.record_deliveries([(2, {"order_code": order.code, "delivered_on": "2026-11-27"})])
    with pytest.raises(Refused, match="fully delivered"):
        as_user("li").orders.refund(order.code)
    assert as_user("li").orders.refund(order.code, amount_fen=1_00).status == "completed"


# --- deliveries --------------------------------------------------------------------------------------
def test_delivery_import_moves_and_is_idempotent(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=3)
    world.orders.confirm(order.code)
    rows = [(2, {"order_code": order.code, "delivered_on": "2026-11-27", "note": "门口"})]
    result = world.orders.record_deliveries(rows)
    assert (result.recorded, result.already, result.errors) == (1, 0, [])
    assert world.orders.get(order.code).status == "in_delivery"
    again = world.orders.record_deliveries(rows)
    assert (again.recorded, again.already) == (0, 1)
    assert world.orders.get(order.code).deliveries_done == 1
    rest = [(2, {"order_code": order.code, "delivered_on": "2026-11-28"}),
            (3, {"order_code": order.code, "delivered_on": "2026-11-29"})]
    result = world.orders.record_deliveries(rows + rest)
    assert (result.recorded, result.already, result.completed) == (2, 1, [order.code])
    done = world.orders.get(order.code)
    assert done.status == "completed" and done.deliveries_done == 3
    assert world.orders.record_deliveries(rows + rest).already == 3
    extra = world.orders.record_deliveries([(5, {"order_code": order.code, "delivered_on": "2026-11-30"})])
    assert extra.recorded == 0 and extra.errors == [(5, f"order {order.code} has all 3 deliveries already")]
    assert statuses(db_path, order.code)[-2:] == ["in_delivery", "completed"]


def test_re_importing_deliveries_after_a_refund_is_harmless(world, as_user):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=3)
    world.orders.confirm(order.code)
    rows = [(2, {"order_code": order.code, "delivered_on": "2026-11-27"})]
    assert world.orders.record_deliveries(rows).recorded == 1
    as_user("li").orders.refund(order.code)  # cancels the rest
    again = world.orders.record_deliveries(rows)
    assert (again.recorded, again.already, again.errors) == (0, 1, [])
    more = world.orders.record_deliveries([(2, {"order_code": order.code, "delivered_on": "2026-11-28"})])
    assert more.errors == [(2, f"order {order.code} is cancelled, not with the dairy")]


def test_single_delivery_order_completes_straight_from_the_dairy(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)])
    world.orders.confirm(order.code)
    result = world.orders.record_deliveries([(2, {"order_code": order.code, "delivered_on": "2026-11-27"})])
    assert result.completed == [order.code]
    assert world.orders.get(order.code).status == "completed"


def test_delivery_import_with_bad_rows(world, db_path):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=2)
    world.orders.confirm(order.code)
    waiting = world.orders.new(phone=PHONE, items=[(MILK, 1)])
    rows = [
        (2, {"order_code": order.code, "delivered_on": "2026-11-27"}),
        (3, {"order_code": "999999", "delivered_on": "2026-11-27"}),
        (4, {"order_code": order.code, "delivered_on": "27/11/2026"}),
        (5, {"order_code": waiting.code, "delivered_on": "2026-11-27"}),
    ]
    before = snapshot(db_path)
    result = world.orders.record_deliveries(rows)
    assert result.recorded == 0 and [line for line, _ in result.errors] == [3, 4, 5]
    assert snapshot(db_path) == before
    result = world.orders.record_deliveries(rows, skip_bad=True)
    assert result.recorded == 1 and [line for line, _ in result.errors] == [3, 4, 5]
    assert world.orders.get(order.code).status == "in_delivery"


# --- accounts ----------------------------------------------------------------------------------------
def test_topup_idempotency_keys(world, db_path):
    first = world.accounts.topup(PHONE2, 50_00, key="pay-001")
    assert first == {"phone": PHONE2, "balance_fen": 50_00, "replayed": False}
    again = world.accounts.topup("139 0013 9000", 50_00, key="pay-001")
    assert again["replayed"] is True and again["balance_fen"] == 50_00
    with pytest.raises(Refused, match="already used"):
        world.accounts.topup(PHONE2, 60_00, key="pay-001")
    with pytest.raises(Refused, match="already used"):
        world.accounts.topup(PHONE, 50_00, key="pay-001")
    world.accounts.topup(PHONE2, 50_00)  # no key: every call is a new top-up
    world.accounts.topup(PHONE2, 50_00)
    assert world.accounts.balance_fen(PHONE2) == 150_00
    assert len(query(db_path, "SELECT * FROM ledger WHERE customer_id = (SELECT id FROM customers WHERE phone = ?)",
                     (PHONE2,))) == 3


@pytest.mark.parametrize("amount", [0, -100])
def test_topup_must_be_positive(world, amount):
    with pytest.raises(UsageError):
        world.accounts.topup(PHONE, amount)


def test_topup_unknown_customer(world):
    with pytest.raises(NotFound):
        world.accounts.topup("13700137000", 100)


def test_ledger_lists_newest_first_with_order_codes(world):
    order = world.orders.new(phone=PHONE, items=[(MILK, 1)])
    world.orders.confirm(order.code)
    entries = world.accounts.ledger(PHONE)
    assert [(e["kind"], e["amount_fen"], e["order_code"]) for e in entries] == [("charge", -500, order.code),
                                                                                ("topup", 100_00, None)]


# --- customers and catalogue -------------------------------------------------------------------------
def test_customers(world):
    with pytest.raises(Refused, match="already exists"):
        world.customers.add(phone="+86 138-0013-8000", name="重复")
    with pytest.raises(UsageError):
        world.customers.add(phone="13600136000", name="  ")
    with pytest.raises(UsageError):
        world.customers.add(phone="13600136000", name="王五", birthday="1990-13-01")
    c = world.customers.add(phone="010-62345678", name="王五", tags=["VIP", "老客户"])
    assert c.phone == "+861062345678" and c.tags == {"vip", "老客户"} and c.is_vip
    c = world.customers.edit("01062345678", address="朝阳区", remove_tags=["vip"], add_tags=["blacklist"], opt_out=True)
    assert c.address == "朝阳区" and c.tags == {"老客户", "blacklist"} and c.opt_out and c.is_blacklisted
    assert [x.phone for x in world.customers.search("海淀")] == [PHONE]
    assert [x.phone for x in world.customers.search(tag="BLACKLIST")] == ["+861062345678"]
    with pytest.raises(NotFound):
        world.customers.get("13700137000")


def test_customer_import_rows(world):
    rows = [
        (2, {"phone": "13600136000", "name": "王五", "tags": "vip;老客户"}),
        (3, {"phone": "not a phone", "name": "坏"}),
        (4, {"phone": PHONE, "name": "张三丰", "address": "新地址"}),
        (5, {"phone": "13600136000", "name": "重复"}),
        (6, {"phone": "13500135000", "name": ""}),
    ]
    result = world.customers.import_rows(rows)
    assert (result.loaded, result.updated) == (0, 0) and [line for line, _ in result.errors] == [3, 5, 6]
    assert world.customers.find_by_phone("13600136000") is None
    result = world.customers.import_rows(rows, skip_bad=True)
    assert (result.loaded, result.updated) == (1, 1)
    updated = world.customers.get(PHONE)
    assert (updated.name, updated.address, updated.zone) == ("张三丰", "新地址", "海淀")  # no zone column: kept
    assert world.customers.get("13600136000").tags == {"vip", "老客户"}


def test_products_and_stock_import(world):
    with pytest.raises(UsageError):
        world.catalog.add_product("bad sku!", name="x", price_fen=1)
    with pytest.raises(UsageError):
        world.catalog.add_product("X1", name="x", price_fen=-1)
    with pytest.raises(NotFound):
        world.catalog.set_stock("NOPE", 1)
    rows = [(2, {"sku": MILK, "quantity": "80"}), (3, {"sku": "NOPE", "quantity": "1"}), (4, {"sku": YOGURT, "quantity": "-1"})]
    result = world.catalog.import_stock(rows)
    assert result.updated == 0 and [line for line, _ in result.errors] == [3, 4] and stock(world, MILK) == (100, 0)
    result = world.catalog.import_stock(rows, skip_bad=True)
    assert result.updated == 1 and stock(world, MILK) == (80, 0)


def test_stock_import_below_reservations_is_a_bad_row(world):
    world.orders.new(phone=PHONE, items=[(YOGURT, 2)], deliveries=5)  # reserves 10
    rows = [(2, {"sku": MILK, "quantity": "70"}), (3, {"sku": YOGURT, "quantity": "9"})]
    result = world.catalog.import_stock(rows)
    assert result.updated == 0
    assert result.errors == [(3, "YOG-200: 9 on hand is less than the 10 reserved by open orders")]
    assert stock(world, MILK) == (100, 0)
    result = world.catalog.import_stock(rows, skip_bad=True)
    assert result.updated == 1 and stock(world, MILK) == (70, 0) and stock(world, YOGURT) == (50, 10)


# --- users -------------------------------------------------------------------------------------------
def test_users_hash_authenticate_disable(world, db_path, as_user):
    user = world.users.add("chen", role="agent", password="秘密-password", display_name="陈芳")
    assert user["role"] == "agent" and "password_hash" not in user
    [row] = query(db_path, "SELECT password_hash FROM users WHERE name = 'chen'")
    assert row["password_hash"].startswith("scrypt$16384$8$1$") and "password" not in row["password_hash"]
    assert world.users.authenticate("chen", "秘密-password")["display_name"] == "陈芳"
    with pytest.raises(Refused, match="wrong user name or password"):
        world.users.authenticate("chen", "wrong-password")
    with pytest.raises(Refused, match="wrong user name or password"):
        world.users.authenticate("nobody", "whatever")
    world.users.set_password("chen", "new-secret")
    with pytest.raises(Refused):
        world.users.authenticate("chen", "秘密-password")
    assert world.users.authenticate("chen", "new-secret")["name"] == "chen"
    assert world.users.set_disabled("chen")["disabled"] == 1
    with pytest.raises(Refused, match="disabled"):
        world.users.authenticate("chen", "new-secret")
    with pytest.raises(Refused, match="disabled"):
        as_user("chen").orders.new(phone=PHONE, items=[(MILK, 1)])
    world.users.set_disabled("chen", False)
    assert world.users.authenticate("chen", "new-secret")["disabled"] == 0


@pytest.mark.parametrize("stored", ["scrypt$16384$8$1$!!!$???", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$AAAA$",
                                    "plain-text", "md5$abc", ""])
def test_a_damaged_password_hash_signs_nobody_in(stored):
    from cc.services.users import hash_password, verify_password

    assert verify_password("secret-1", stored) is False
    assert verify_password("secret-1", hash_password("secret-1")) is True


def test_user_rules(world, as_user):
    with pytest.raises(UsageError):
        world.users.add("Bad Name", role="agent", password="secret-1")
    with pytest.raises(UsageError, match="unknown role"):
        world.users.add("chen", role="boss", password="secret-1")
    with pytest.raises(UsageError, match="too short"):
        world.users.add("chen", role="agent", password="12345")
    world.users.add("root", role="admin", password="secret-1")
    with pytest.raises(Refused, match="already exists"):
        world.users.add("wang", role="agent", password="secret-1")
    agent = as_user("wang")
    agent.users.set_password("wang", "my-own-new")  # one's own password: allowed
    with pytest.raises(PermissionDenied):
        agent.users.set_password("root", "hijacked")
    with pytest.raises(Refused, match="yourself"):
        as_user("root").users.set_disabled("root")
    with pytest.raises(NotFound):
        as_user("ghost").orders.new(phone=PHONE, items=[(MILK, 1)])
    with pytest.raises(NotFound):
        world.users.set_disabled("ghost")
