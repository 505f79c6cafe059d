"""The console's service without Textual: what the snapshot, the card, the live checks and the order
progress say."""

from __future__ import annotations

import pytest
from tui_helpers import AGENT, MILK, PASSWORD, PHONE, PHONE2, config_for

from cc.errors import PermissionDenied, Refused, UsageError
from cc.tui.backend import console_factory


@pytest.fixture
def console(db_file, clock):
    make = console_factory(config_for(db_file), clock)
    anonymous = make(None)
    anonymous.authenticate(AGENT, PASSWORD)
    c = make(AGENT)
    c.sign_in()
    yield c
    make.close()  # this thread's connection


def test_sign_in_refuses_wrong_password_and_non_agents(db_file, clock):
    make = console_factory(config_for(db_file), clock)
    anonymous = make(None)
    with pytest.raises(Refused):
        anonymous.authenticate(AGENT, "wrong-password")
    anonymous.services.users.add("boss", role="admin", password="secret2")
    with pytest.raises(PermissionDenied):
        anonymous.authenticate("boss", "secret2")
    with pytest.raises(UsageError):
        anonymous.authenticate("", "")


def test_snapshot_health_and_queue_counts(console, clock):
    services = console.services
    services.sms.heartbeat("sim0", state="connected")
    acd = console.acd
    acd.change_state(AGENT, "pause", "lunch")
    acd.enter("c1", "orders", PHONE2)
    snap = console.snapshot()
    assert (snap.state, snap.reason, snap.call) == ("paused", "lunch", None)
    assert dict(snap.waiting)["orders"] == 1
    assert snap.modems == (("sim0", True),)
    clock.advance(3600)
    assert console.snapshot().modems == (("sim0", False),)  # its heartbeat went stale


def test_quote_checks_balance_and_stock(console, db_file, clock):
    from cc.services.container import build_services

    quote = console.quote(PHONE, [(MILK, 2)], None, "daily", 30)
    assert (quote.total_fen, quote.balance_fen, quote.enough_balance, quote.problems) == (30_000, 50_000, True, ())
    quote = console.quote(PHONE, [(MILK, 2)], None, "daily", 60)
    assert quote.total_fen == 60_000 and not quote.enough_balance
    build_services(config_for(db_file), clock=clock).catalog.set_stock(MILK, 10)
    quote = console.quote(PHONE, [(MILK, 2)], None, "daily", 30)
    assert quote.problems == ("鲜牛奶: 10 in stock, 60 needed",)
    assert console.quote(PHONE, [(MILK, 1)], None, "daily", 0).problems  # not a plan


def test_order_progress_amend_cancel(console):
    progress = console.submit_order(PHONE, [(MILK, 1)], None, "daily", 5)
    assert progress.status == "awaiting_confirmation" and progress.editable
    assert dict(progress.steps) == {"submitted": True, "sms_sent": False, "sms_delivered": False, "replied": False,
                                    "charged": False, "sent_to_dairy": False}
    amended = console.amend_order(progress.code, [(MILK, 2)], None, "daily", 5)
    assert console.services.orders.get(progress.code).total_fen == 5_000 and amended.editable
    cancelled = console.cancel_order(progress.code)
    assert cancelled.status == "cancelled" and not cancelled.editable
    with pytest.raises(UsageError):
        console.submit_order(PHONE, [], None, "daily", 5)


def test_card_and_wrap_up(console):
    card = console.card(PHONE)
    assert (card.known, card.name, card.balance_fen) == (True, "张三", 50_000)
    assert not console.card("+8613700137000").known
    with pytest.raises(UsageError):
        console.wrap_up("c1", PHONE, "chatting")
    assert console.wrap_up("c1", PHONE, "enquiry", " asked about yogurt ") > 0
    assert console.store.wrapups(AGENT)[0]["notes"] == "asked about yogurt"
    found = console.search("张三")
    assert [f.phone for f in found] == [PHONE]


def test_control_without_ami_is_unreachable_with_a_hint(console):
    from cc.errors import Unreachable

    console.control = None
    with pytest.raises(Unreachable) as info:
        console.control_action("hangup", AGENT)
    assert info.value.hint


def test_call_control_needs_a_target_or_a_number_before_asking_asterisk(console):
    from console_fakes import FakeCallControl, with_control

    fake = FakeCallControl()
    console.control = with_control(lambda user: console, fake)(AGENT).control
    with pytest.raises(UsageError):
        console.call_control("transfer", "  ")
    with pytest.raises(UsageError):
        console.call_control("dial", "", "")
    with pytest.raises(UsageError):
        console.call_control("dial", "not a number")
    with pytest.raises(UsageError):
        console.call_control("explode")
    assert fake.calls == []
    result = console.call_control("dial", "", PHONE)
    assert (result.call_id, result.caller, result.ends_call) == ("cc-dial-fake1", PHONE, False)
    assert console.call_control("transfer", "orders").ends_call
    assert not console.call_control("attended_transfer", "orders").ends_call
    assert fake.calls[1:] == [("transfer", AGENT, "orders", False), ("transfer", AGENT, "orders", True)]


def test_a_click_to_dial_whose_end_was_never_reported_is_wrapped_up(console, clock):
    """The hangup handler's AGI request is how the end of a click-to-dial call reaches the ACD; with the AGI
    server down it never comes. The console asks Asterisk (every 15 s, once the call is 15 s old) whether
    the agent's leg still exists; Asterisk unreachable changes nothing."""
    from console_fakes import FakeCallControl, with_control

    fake = FakeCallControl()
    fake.follow_acd = True
    console.control = with_control(lambda user: console, fake)(AGENT).control
    console.call_control("dial", "", PHONE)
    assert console.snapshot().state == "on_call"
    assert ("channels",) not in fake.calls  # a fresh call: nothing asked
    clock.advance(16)
    assert console.snapshot().state == "on_call"  # still up in Asterisk
    assert fake.calls.count(("channels",)) == 1
    clock.advance(5)
    console.snapshot()
    assert fake.calls.count(("channels",)) == 1  # at most every 15 s
    fake.hang_up_dials()
    fake.unreachable = True
    clock.advance(15)
    assert console.snapshot().state == "on_call"  # AMI down: left as it is
    fake.unreachable = False
    clock.advance(15)
    snap = console.snapshot()
    assert snap.state == "wrap_up" and fake.calls.count(("channels",)) == 3
    events = console.acd.store.conn.execute(
        "SELECT action, call_id FROM acd_actions WHERE agent = ? ORDER BY id", (AGENT,)).fetchall()
    assert ("dial_end", "cc-dial-fake1") in events
