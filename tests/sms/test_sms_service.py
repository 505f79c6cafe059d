"""The SMS service with the real order pipeline, a frozen clock and a real SQLite file (no modem)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sms_helpers import OTHER, PHONE, make_config, make_world, new_order

from cc.clock import FrozenClock
from cc.errors import NotFound, Refused, UsageError
from cc.gsm.types import IncomingSms, SentPart, StatusReport
from cc.store.db import rows, scalar

MODEM = "m1"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock("2026-11-26T02:00:00+00:00")  # 10:00 in Shanghai


@pytest.fixture
def world(tmp_path, clock):  # noqa: ANN001, ANN201
    with make_world(make_config(tmp_path), clock) as services:
        yield services


def reply(world, text: str, sender: str = PHONE, at: str = "2026-11-26T02:01:00+00:00"):  # noqa: ANN001, ANN201
    sms = IncomingSms(sender=sender, text=text, received_at=datetime.fromisoformat(at), parts=1, storage_refs=())
    inbox_id = world.sms.store_incoming(MODEM, sms)
    assert inbox_id is not None
    return world.sms.handle_incoming(inbox_id)


def answers(world) -> list[str]:  # noqa: ANN001
    return [r["text"] for r in rows(world.db, "SELECT text FROM sms_outbox WHERE kind = 'reply' ORDER BY id")]


def charges(world, order_id: int) -> int:  # noqa: ANN001
    return scalar(world.db, "SELECT count(*) FROM ledger WHERE kind = 'charge' AND order_id = ?", (order_id,))


def test_confirmation_is_queued_with_the_order(world) -> None:
    order = new_order(world)
    (row,) = world.sms.outbox()
    assert row["kind"] == "confirmation" and row["priority"] == 0 and row["order_id"] == order.id
    assert row["text"] == f"【XX乳业】订单{order.code}：鲜牛奶x1，每日1次共30次，合计¥150.00，回复Y确认，回复N取消"


def test_yes_confirms_charges_and_queues_for_the_dairy(world) -> None:
    order = new_order(world)
    handled = reply(world, "Y")
    assert (handled.outcome, handled.order_code) == ("confirmed", order.code)
    assert world.orders.get(order.code).status in ("charged", "sent_to_dairy")
    assert charges(world, order.id) == 1
    assert scalar(world.db, "SELECT count(*) FROM dairy_outbox WHERE order_id = ?", (order.id,)) == 1
    assert "已确认" in answers(world)[-1] and "150.00" in answers(world)[-1]


def test_duplicate_yes_changes_nothing(world) -> None:
    order = new_order(world)
    reply(world, "Y")
    second = reply(world, "是", at="2026-11-26T02:02:00+00:00")
    assert second.outcome == "duplicate"
    assert charges(world, order.id) == 1
    assert "已经确认过" in answers(world)[-1]


def test_the_same_sms_read_twice_is_stored_once(world) -> None:
    new_order(world)
    sms = IncomingSms(sender=PHONE, text="Y", received_at=datetime(2026, 11, 26, 2, 1, tzinfo=timezone.utc), parts=1)
    assert world.sms.store_incoming(MODEM, sms) is not None
    assert world.sms.store_incoming("m2", sms) is None
    assert scalar(world.db, "SELECT count(*) FROM sms_inbox") == 1


def test_no_rejects(world) -> None:
    order = new_order(world)
    handled = reply(world, "取消")
    assert handled.outcome == "rejected"
    assert world.orders.get(order.code).status == "rejected"
    assert charges(world, order.id) == 0


def test_reply_after_expiry(world, clock) -> None:
    order = new_order(world)
    clock.advance(minutes=world.config.orders.confirmation_timeout_minutes + 1)
    expired = world.sms.expire_due()
    assert [o.code for o in expired] == [order.code]
    assert "超时" in world.sms.outbox()[0]["text"]  # the expiry notice
    handled = reply(world, "Y", at="2026-11-26T05:00:00+00:00")
    assert handled.outcome == "expired"
    assert charges(world, order.id) == 0
    assert "已超时" in answers(world)[-1]


def test_yes_just_after_the_deadline_but_before_the_sweep(world, clock) -> None:
    order = new_order(world)
    clock.advance(minutes=world.config.orders.confirmation_timeout_minutes + 1)
    handled = reply(world, "Y", at="2026-11-26T05:00:00+00:00")
    assert handled.outcome == "expired"
    assert world.orders.get(order.code).status == "expired"
    assert charges(world, order.id) == 0


def test_several_pending_orders_need_the_code(world) -> None:
    first, second = new_order(world), new_order(world, deliveries=10)
    handled = reply(world, "Y")
    assert handled.outcome == "clarify"
    assert first.code in answers(world)[-1] and second.code in answers(world)[-1]
    handled = reply(world, f"Y {second.code}", at="2026-11-26T02:03:00+00:00")
    assert (handled.outcome, handled.order_code) == ("confirmed", second.code)
    assert world.orders.get(first.code).status == "awaiting_confirmation"


def test_a_code_that_is_not_theirs_changes_nothing(world) -> None:
    world.customers.add(phone=OTHER, name="李四")
    world.accounts.topup(OTHER, 100_000)
    theirs = new_order(world, phone=OTHER)
    new_order(world)
    handled = reply(world, f"Y{theirs.code}")
    assert handled.outcome == "unknown_code"
    assert world.orders.get(theirs.code).status == "awaiting_confirmation"


def test_garbled_reply_gets_help(world) -> None:
    order = new_order(world)
    handled = reply(world, "请问几点送到？")
    assert handled.outcome == "garbled"
    assert order.code in answers(world)[-1] and "回复Y确认" in answers(world)[-1]
    assert world.orders.get(order.code).status == "awaiting_confirmation"


def test_unknown_number_gets_an_answer_and_nothing_changes(world) -> None:
    order = new_order(world)
    handled = reply(world, "Y", sender="+8613700137000")
    assert handled.outcome == "unknown_sender"
    assert "未找到您的客户资料" in answers(world)[-1]
    assert world.orders.get(order.code).status == "awaiting_confirmation"


def test_short_code_sender_is_not_answered(world) -> None:
    handled = reply(world, "您的话费余额为10元", sender="10086")
    assert handled.outcome == "invalid_sender" and handled.answer_id is None


def test_td_opts_out_of_marketing_only(world) -> None:
    handled = reply(world, "TD")
    assert handled.outcome == "opted_out"
    assert world.customers.get(PHONE).opt_out
    with pytest.raises(Refused):
        world.sms.send(PHONE, "双十一特惠", kind="marketing")
    new_order(world)
    assert world.sms.outbox(status="queued")[0]["kind"] == "confirmation"


def test_marketing_queued_before_an_opt_out_is_not_sent(world) -> None:
    queued = world.sms.send(PHONE, "双十一特惠", kind="marketing")
    other = world.sms.send(OTHER, "双十一特惠", kind="marketing")
    assert reply(world, "TD").outcome == "opted_out"  # after the campaign queued it, before the modem took it
    sent = []
    while (claimed := world.sms.claim_next(MODEM)) is not None:
        sent.append((claimed.kind, claimed.phone))
    assert sent == [("reply", PHONE), ("marketing", OTHER)]  # the TD answer goes; the stale marketing does not
    row = world.sms.store.outbox_row(queued["id"])
    assert row["status"] == "failed" and "opted out" in row["reason"]
    assert world.sms.store.outbox_row(other["id"])["status"] == "sending"


def test_answers_are_rate_limited_per_number(world) -> None:
    for minute in range(6):
        reply(world, "??", sender="+8613700137000", at=f"2026-11-26T02:1{minute}:00+00:00")
    assert len(answers(world)) == 3


def test_insufficient_balance_is_answered(tmp_path, clock) -> None:
    world = make_world(make_config(tmp_path), clock, balance_fen=20_000)
    first, second = new_order(world), new_order(world)
    assert reply(world, f"Y{first.code}").outcome == "confirmed"
    handled = reply(world, f"Y{second.code}", at="2026-11-26T02:02:00+00:00")
    assert handled.outcome == "payment_failed"
    assert "余额不足" in answers(world)[-1]
    assert charges(world, second.id) == 0


# --- outbox rules ---------------------------------------------------------------------------------


def test_claim_order_priority_and_lease(world, clock) -> None:
    world.sms.send(PHONE, "manual one")
    new_order(world)
    first = world.sms.claim_next(MODEM)
    assert first.kind == "confirmation"
    second = world.sms.claim_next("m2")
    assert second.text == "manual one"
    assert world.sms.claim_next(MODEM) is None
    clock.advance(seconds=world.config.sms.lease_seconds + 1)  # m1 died: its lease runs out
    again = world.sms.claim_next("m2")
    assert again.id == first.id and again.interrupted == 1
    attempts = world.sms.store.attempts_for(first.id)
    assert [a["outcome"] for a in attempts] == ["interrupted", None]


def test_marketing_waits_for_the_send_window(tmp_path) -> None:
    clock = FrozenClock("2026-11-26T14:00:00+00:00")  # 22:00 in Shanghai
    config = make_config(tmp_path)
    config.sms.quiet_hours = "21:00-08:00"
    world = make_world(config, clock)
    world.sms.send(PHONE, "特惠", kind="marketing")
    new_order(world)
    confirmation = world.sms.claim_next(MODEM)
    assert confirmation.kind == "confirmation"
    assert world.sms.claim_next(MODEM) is None
    world.sms.record_sent(MODEM, confirmation, [SentPart(1, 1, 1)])
    clock.set(datetime(2026, 11, 27, 0, 30, tzinfo=timezone.utc))  # 08:30
    assert world.sms.claim_next(MODEM).kind == "marketing"


def test_retries_with_backoff_then_fails_with_a_reason(world, clock) -> None:
    world.config.sms.retry_backoff_seconds = 10
    world.config.sms.max_attempts = 3
    world.sms.send(PHONE, "hello")
    delays = []
    for _ in range(3):
        claimed = world.sms.claim_next(MODEM)
        assert claimed is not None
        status = world.sms.record_send_error(MODEM, claimed, "+CMS ERROR: 38", destination_fault=False)
        row = world.sms.outbox()[0]
        if status == "queued":
            assert world.sms.claim_next(MODEM) is None  # not before the backoff
            delays.append(row["next_attempt_at"])
            clock.advance(seconds=100)
    row = world.sms.outbox()[0]
    assert row["status"] == "failed" and "+CMS ERROR: 38" in row["reason"] and row["attempts"] == 3
    assert delays == ["2026-11-26T02:00:10.000+00:00", "2026-11-26T02:01:60.000+00:00".replace("01:60", "02:00")]
    retried = world.sms.retry(row["id"])
    assert retried["status"] == "queued"
    with pytest.raises(Refused):
        world.sms.retry(row["id"])
    with pytest.raises(NotFound):
        world.sms.retry(999)


def test_a_failing_destination_is_set_aside(world) -> None:
    world.config.sms.retry_backoff_seconds = 10
    for i in range(4):
        world.sms.send(PHONE, f"to the bad one {i}")
    world.sms.send(OTHER, "to the good one")
    for _ in range(3):
        claimed = world.sms.claim_next(MODEM)
        assert claimed.phone == PHONE
        world.sms.record_send_error(MODEM, claimed, "+CMS ERROR: 500")
    assert world.sms.claim_next(MODEM).phone == OTHER  # the held destination no longer blocks
    assert world.sms.claim_next(MODEM) is None
    assert [h["phone"] for h in world.sms.status()["held_destinations"]] == [PHONE]


def test_parts_and_status_reports(world) -> None:
    world.sms.send(PHONE, "x" * 150)
    claimed = world.sms.claim_next(MODEM)
    world.sms.record_sent(MODEM, claimed, [SentPart(7, 1, 3), SentPart(8, 2, 3), SentPart(9, 3, 3)])
    at = datetime(2026, 11, 26, 2, 5, tzinfo=timezone.utc)
    assert world.sms.record_report("other-modem", StatusReport(7, PHONE, True, 0, at)) is None  # wrong modem
    assert world.sms.record_report(MODEM, StatusReport(7, OTHER, True, 0, at)) is None  # wrong recipient
    world.sms.record_report(MODEM, StatusReport(7, PHONE, True, 0, at))
    world.sms.record_report(MODEM, StatusReport(8, PHONE, False, 0x30, at, final=False))  # still trying
    assert world.sms.outbox()[0]["status"] == "sent"
    world.sms.record_report(MODEM, StatusReport(8, PHONE, True, 0, at))
    row = world.sms.record_report(MODEM, StatusReport(9, PHONE, True, 0, at))
    assert row["status"] == "delivered"
    assert scalar(world.db, "SELECT count(*) FROM sms_reports") == 6


def test_permanent_delivery_failure(world) -> None:
    world.sms.send(PHONE, "hi")
    claimed = world.sms.claim_next(MODEM)
    world.sms.record_sent(MODEM, claimed, [SentPart(42, 1, 1)])
    row = world.sms.record_report(MODEM, StatusReport(42, PHONE, False, 0x41, datetime.now(timezone.utc)))
    assert row["status"] == "failed" and "undeliverable" in row["reason"]


def test_bad_input(world) -> None:
    with pytest.raises(UsageError):
        world.sms.send("12", "x")
    with pytest.raises(UsageError):
        world.sms.send(PHONE, "  ")
    with pytest.raises(UsageError):
        world.sms.outbox(status="lost")


def test_permanent_rejection_fails_at_once(world) -> None:
    world.sms.send(PHONE, "hi")
    claimed = world.sms.claim_next(MODEM)
    assert world.sms.record_send_error(MODEM, claimed, "+CMS ERROR: 21", permanent=True) == "failed"
    assert world.sms.outbox()[0]["reason"] == "+CMS ERROR: 21"


@pytest.mark.parametrize(("key", "value"), [("quiet_hours", "9pm-8am"), ("confirm_template", "订单{code"),
                                            ("confirm_template", "{total:d}")])
def test_bad_sms_config_is_a_config_error(tmp_path, key: str, value: str) -> None:
    from cc.errors import ConfigError
    from cc.services.container import build_services

    config = make_config(tmp_path)
    setattr(config.sms, key, value)
    with pytest.raises(ConfigError, match=f"sms.{key}"):
        build_services(config)


def test_an_amended_order_gets_a_new_confirmation_and_a_yes_charges_the_new_total(world) -> None:
    order = new_order(world)
    world.orders.amend(order.code, items=[("MILK", 2)])
    confirmations = [r for r in world.sms.outbox() if r["kind"] == "confirmation"]
    assert len(confirmations) == 2 and "鲜牛奶x2" in confirmations[0]["text"] and "¥300.00" in confirmations[0]["text"]
    assert confirmations[1]["status"] == "failed" and confirmations[1]["reason"].startswith("superseded")
    assert reply(world, "Y").outcome == "confirmed"
    assert scalar(world.db, "SELECT amount_fen FROM ledger WHERE kind = 'charge'") == -30000


def test_the_confirmation_is_in_the_order_transaction(world) -> None:
    def hook_then_fail(order, amended=True) -> None:  # noqa: ANN001
        world.sms.on_awaiting_confirmation(order, amended)
        raise Refused("something later in the same transaction failed")

    world.orders.on_awaiting_confirmation = hook_then_fail
    with pytest.raises(Refused):
        new_order(world)
    assert world.sms.outbox() == []  # rolled back with the order
    assert scalar(world.db, "SELECT count(*) FROM orders") == 0
