"""Random sequences of pipeline operations on a real SQLite file; after every step the money and stock rules
hold: no negative balance, ledger sum == balance, stock never negative nor oversold, reservations == units of
open orders, at most one charge per order, and charged money == totals of the orders that reached 'charged'."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from core_helpers import MILK, PHONE, PHONE2, START, YOGURT, FakeDairy, invariant_violations, make_services, query
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from cc.clock import FrozenClock
from cc.errors import NotFound, PermissionDenied, Refused, UsageError

_TEMPLATE: Path | None = None
PHONES = [PHONE, PHONE2]
SKUS = [MILK, YOGURT]


def template() -> Path:
    """A small, tight world (little stock, modest balances) so refusals and failures happen often."""
    global _TEMPLATE
    if _TEMPLATE is None:
        folder = tempfile.mkdtemp(prefix="cc-core-stateful-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = Path(folder) / "template.db"
        svc = make_services(path, FrozenClock(START))
        svc.catalog.add_product(MILK, name="鲜牛奶", price_fen=500)
        svc.catalog.add_product(YOGURT, name="酸奶", price_fen=350)
        svc.catalog.set_stock(MILK, 40)
        svc.catalog.set_stock(YOGURT, 25)
        svc.customers.add(phone=PHONE, name="张三", address="海淀区")
        svc.customers.add(phone=PHONE2, name="李四", address="浦东新区")
        svc.accounts.topup(PHONE, 150_00, key="seed-1")
        svc.accounts.topup(PHONE2, 60_00, key="seed-2")
        svc.users.add("wang", role="agent", password="secret-1")
        svc.users.add("li", role="supervisor", password="secret-2")
        svc.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        svc.db.conn.close()
        _TEMPLATE = path
    return _TEMPLATE


items_strategy = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=2)


class Pipeline(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="cc-core-run-"))
        self.db_path = self.dir / "cc.db"
        shutil.copyfile(template(), self.db_path)
        self.clock = FrozenClock(START)
        self.dairy = FakeDairy()
        self.svc = make_services(self.db_path, self.clock, dairy_link=self.dairy)  # the site operator (admin)
        self.agent = make_services(self.db_path, self.clock, user="wang", dairy_link=self.dairy)
        self.supervisor = make_services(self.db_path, self.clock, user="li", dairy_link=self.dairy)
        self.topup_keys: dict[str, tuple[str, int]] = {}
        self.stock_lost = False  # stock lowered behind cc's back: on-hand may fall below what is reserved

    def teardown(self) -> None:
        for svc in (self.svc, self.agent, self.supervisor):
            svc.db.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def status(self, code: str) -> str:
        return self.svc.orders.get(code).status

    def pick(self, statuses: tuple[str, ...], index: int) -> str | None:
        """An order in one of these states (so the later stages get exercised often), or None."""
        codes = sorted(o.code for o in self.svc.orders.list(statuses=list(statuses), limit=0))
        return codes[index % len(codes)] if codes else None

    # --- entry and changes before confirmation ------------------------------------------------------
    @rule(target=orders, phone=st.sampled_from(PHONES), items=items_strategy, deliveries=st.integers(1, 4),
          weekly=st.booleans(), draft=st.sampled_from([False, False, False, True]))
    def new(self, phone, items, deliveries, weekly, draft):  # noqa: ANN001, ANN201
        try:
            order = self.agent.orders.new(phone=phone, items=items, deliveries=deliveries,
                                          frequency="weekly" if weekly else "daily", submit=not draft)
        except Refused as exc:  # balance or stock short: nothing may have changed (checked by the invariants)
            assert "short of the order total" in exc.message or "not enough stock" in exc.message, exc.message
            return multiple()  # no new order
        assert order.status == ("draft" if draft else "awaiting_confirmation")
        return order.code

    @rule(target=orders, phone=st.sampled_from(PHONES), sku=st.sampled_from(SKUS), quantity=st.integers(1, 3),
          deliveries=st.integers(1, 3))
    def new_and_confirm(self, phone, sku, quantity, deliveries):  # noqa: ANN001, ANN201
        """The common path: a small order, confirmed at once (charged, or payment_failed / out_of_stock)."""
        code = self.new(phone, [(sku, quantity)], deliveries, False, False)
        if isinstance(code, str):
            self.confirm_twice(code)
        return code

    @rule(phone=st.sampled_from(PHONES))
    def two_orders_race_for_the_balance(self, phone):  # noqa: ANN001
        """Each fits the balance when entered; together they do not: the second charge is payment_failed."""
        balance = self.svc.accounts.balance_fen(phone)
        units = balance // 500 // 2 + 1
        if units * 500 > balance:
            return
        codes = []
        for _ in range(2):
            try:
                codes.append(self.agent.orders.new(phone=phone, items=[(MILK, units)]).code)
            except Refused:
                return  # not enough milk for both
        self.agent.orders.confirm(codes[0])
        try:
            self.agent.orders.confirm(codes[1])
            raise AssertionError("charged beyond the balance")
        except Refused as exc:
            assert "payment_failed" in exc.hint
        assert self.status(codes[1]) == "payment_failed"

    @rule(sku=st.sampled_from(SKUS))
    def stock_vanishes_before_the_charge(self, sku):  # noqa: ANN001
        try:
            code = self.agent.orders.new(phone=PHONE, items=[(sku, 1)]).code
        except Refused:
            return
        self.dairy_loses_stock_outside_cc(sku, 10_000)
        try:
            self.agent.orders.confirm(code)
            raise AssertionError("charged without stock")
        except Refused as exc:
            assert "out_of_stock" in exc.hint
        assert self.status(code) == "out_of_stock"

    @rule(code=orders)
    def submit(self, code):  # noqa: ANN001
        try:
            self.agent.orders.submit(code)
        except (Refused, UsageError):  # not a draft, short of money or stock, or its start date has passed
            pass

    @rule(code=orders, items=items_strategy, deliveries=st.one_of(st.none(), st.integers(1, 4)))
    def amend(self, code, items, deliveries):  # noqa: ANN001
        before = self.svc.orders.get(code)
        try:
            after = self.agent.orders.amend(code, items=items, deliveries=deliveries)
        except (Refused, UsageError):  # not editable, short, or a draft whose start date has passed
            assert self.svc.orders.get(code) == before  # a refused amendment leaves the order as it was
            return
        assert before.status in ("draft", "awaiting_confirmation")
        per = sum(line.price_fen * line.quantity for line in after.lines)
        assert after.total_fen == per * after.deliveries

    @rule(code=orders)
    def cancel(self, code):  # noqa: ANN001
        before = self.status(code)
        try:
            self.agent.orders.cancel(code)
        except Refused:
            assert before not in ("draft", "awaiting_confirmation")
            return
        assert self.status(code) == "cancelled"

    @rule(code=orders)
    def reject(self, code):  # noqa: ANN001
        try:
            self.svc.orders.reject(code, actor="sms", via="sms")
        except Refused:
            assert self.status(code) != "awaiting_confirmation"

    # --- confirmation and charge ----------------------------------------------------------------------
    @rule(code=orders)
    def confirm_twice(self, code):  # noqa: ANN001
        before = self.status(code)
        charges = len(query(self.db_path, "SELECT 1 FROM ledger WHERE kind = 'charge'"))
        try:
            self.agent.orders.confirm(code)
            first_ok = True
        except Refused:
            first_ok = False
        after = self.status(code)
        if first_ok:
            assert before == "awaiting_confirmation" and after in ("charged", "sent_to_dairy")
        else:
            assert after in ("draft", "cancelled", "rejected", "expired", "payment_failed", "out_of_stock",
                             "charged", "sent_to_dairy", "in_delivery", "completed")
        try:
            self.svc.orders.confirm(code)
        except Refused as exc:
            if after in ("charged", "sent_to_dairy", "in_delivery", "completed"):
                assert "already confirmed" in exc.message
        else:
            raise AssertionError("a second confirmation must be refused")
        new_charges = len(query(self.db_path, "SELECT 1 FROM ledger WHERE kind = 'charge'"))
        assert new_charges - charges == (1 if first_ok else 0)

    @rule(index=st.integers(0, 50))
    def confirm_a_waiting_order(self, index):  # noqa: ANN001
        code = self.pick(("awaiting_confirmation",), index)
        if code is not None:
            self.confirm_twice(code)

    @rule(minutes=st.sampled_from([1, 20, 60, 121]))
    def time_passes_and_orders_expire(self, minutes):  # noqa: ANN001
        self.clock.advance(minutes=minutes)
        for order in self.svc.orders.expire_due():
            assert order.status == "expired"

    @rule(sku=st.sampled_from(SKUS), loss=st.integers(1, 10))
    def dairy_loses_stock_outside_cc(self, sku, loss):  # noqa: ANN001
        """A correction made behind cc's back (e.g. breakage): later charges can meet out_of_stock."""
        self.svc.db.execute("UPDATE stock SET quantity = MAX(quantity - ?, 0) WHERE sku = ?", (loss, sku))
        self.stock_lost = True

    @rule(sku=st.sampled_from(SKUS), quantity=st.integers(0, 40), bad_row=st.booleans())
    def stock_import(self, sku, quantity, bad_row):  # noqa: ANN001
        rows = [(2, {"sku": sku, "quantity": str(quantity)})]
        if bad_row:
            rows.append((3, {"sku": "NOPE", "quantity": "1"}))
        below_reserved = quantity < self.svc.catalog.product(sku)["reserved"]
        result = self.svc.catalog.import_stock(rows)
        assert result.updated == (0 if bad_row or below_reserved else 1)
        assert [line for line, _ in result.errors] == ([2] if below_reserved else []) + ([3] if bad_row else [])

    @rule(phone=st.sampled_from(PHONES), amount=st.integers(1, 40_00), key=st.sampled_from([None, "a", "b", "c"]))
    def topup(self, phone, amount, key):  # noqa: ANN001
        try:
            result = self.agent.accounts.topup(phone, amount, key=key)
        except Refused:
            assert key in self.topup_keys and self.topup_keys[key] != (phone, amount)
            return
        if key is not None:
            assert result["replayed"] == (key in self.topup_keys)
            self.topup_keys.setdefault(key, (phone, amount))

    # --- after the charge -----------------------------------------------------------------------------
    @rule(code=orders, partial=st.one_of(st.none(), st.integers(1, 20_00)))
    def refund(self, code, partial):  # noqa: ANN001
        try:
            self.agent.orders.refund(code)
            raise AssertionError("an agent refunded an order")
        except PermissionDenied:
            pass
        before = self.svc.orders.get(code)
        try:
            after = self.supervisor.orders.refund(code, amount_fen=partial)
        except Refused:
            assert self.svc.orders.get(code) == before
            return
        assert after.refunded_fen > before.refunded_fen
        assert after.status == ("cancelled" if partial is None and before.status != "completed" else before.status)

    @rule(index=st.integers(0, 50), partial=st.one_of(st.none(), st.integers(1, 20_00)))
    def refund_a_paid_order(self, index, partial):  # noqa: ANN001
        code = self.pick(("charged", "sent_to_dairy", "in_delivery", "completed"), index)
        if code is not None:
            self.refund(code, partial)

    @rule(index=st.integers(0, 50), count=st.integers(1, 3), repeat=st.booleans())
    def deliver_to_an_order_with_the_dairy(self, index, count, repeat):  # noqa: ANN001
        code = self.pick(("sent_to_dairy", "in_delivery"), index)
        if code is not None:
            self.deliver(code, count, repeat)

    @rule(code=orders, count=st.integers(1, 3), repeat=st.booleans())
    def deliver(self, code, count, repeat):  # noqa: ANN001
        order = self.svc.orders.get(code)
        start = date.fromisoformat(order.start_date)
        rows = [(i + 2, {"order_code": code, "delivered_on": (start + timedelta(days=order.deliveries_done + i)).isoformat()})
                for i in range(count)]
        result = self.svc.orders.record_deliveries(rows, skip_bad=True)
        if repeat:
            again = self.svc.orders.record_deliveries(rows, skip_bad=True)
            assert again.recorded == 0  # idempotent re-import
        after = self.svc.orders.get(code)
        assert after.deliveries_done == order.deliveries_done + result.recorded <= after.deliveries
        if after.deliveries_done == after.deliveries and result.recorded:
            assert after.status == "completed"

    @rule(down=st.booleans())
    def dairy_link_flaps(self, down):  # noqa: ANN001
        self.dairy.fail = down
        self.clock.advance(seconds=61)
        self.svc.dairy.deliver_due()

    @rule(code=orders)
    def unknown_or_mistyped_code(self, code):  # noqa: ANN001
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        try:
            self.svc.orders.confirm(wrong)
        except NotFound:
            pass  # one wrong digit never lands on another order: all codes carry a Damm check digit
        else:
            raise AssertionError(f"mistyped code {wrong} was accepted")

    # --- the rules that must always hold -------------------------------------------------------------
    @invariant()
    def money_and_stock_rules(self) -> None:
        assert invariant_violations(self.db_path, stock_covers_reservations=not self.stock_lost) == []

    @invariant()
    def sent_orders_reached_the_dairy_once(self) -> None:
        keys = [m["idempotency_key"] for m in self.dairy.messages]
        assert len(keys) == len(set(keys))


Pipeline.TestCase.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: it can take minutes on a database
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPipeline = Pipeline.TestCase
