"""The order pipeline: entry, amendment, confirmation and charge, dairy hand-off, deliveries, refunds.

Every money or stock change happens inside one ``BEGIN IMMEDIATE`` transaction together with the order's
state change and its history rows. A charge carries the idempotency key ``charge:order:<id>``: a second
confirmation, two racing confirmations or a retry after a crash cannot charge twice.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from cc.domain.customers import CustomerView
from cc.domain.money import format_yuan
from cc.domain.orders import (
    EDITABLE,
    PAID,
    RESERVING,
    DeliveryPlan,
    Frequency,
    Line,
    OrderEvent,
    OrderLineView,
    OrderStatus,
    OrderView,
    PlanError,
    TransitionError,
    check_transition,
    make_order_code,
    make_plan,
    merge_lines,
    order_total,
    units_needed,
)
from cc.domain.users import Action
from cc.domain.timestamps import iso
from cc.errors import CcError, NotFound, Refused, UsageError
from cc.phone import normalize_phone
from cc.services.base import ServiceBase

S = OrderStatus


@dataclass(frozen=True)
class OrderDetail:
    order: OrderView
    events: list[OrderEvent]
    deliveries: list[dict]


@dataclass(frozen=True)
class DeliveryImportResult:
    recorded: int
    already: int
    errors: list[tuple[int, str]]
    completed: list[str]


class OrderService(ServiceBase):
    def __init__(self, *args, dairy=None, rng: random.Random | None = None, **kwargs) -> None:  # noqa: ANN001
        super().__init__(*args, **kwargs)
        self.dairy = dairy
        self.rng = rng or random.SystemRandom()
        # Called inside the transaction that puts an order in awaiting_confirmation (the SMS gateway queues
        # the confirmation text here, so the order and its message are stored together).
        self.on_awaiting_confirmation: Callable[..., None] | None = None  # (order, amended=True)

    # --- reading --------------------------------------------------------------------------------
    def get(self, code: str) -> OrderView:
        order = self.store.order_by_code((code or "").strip())
        if order is None:
            raise NotFound(f"no order with code {code}", "see 'cc order list'")
        return order

    def show(self, code: str) -> OrderDetail:
        order = self.get(code)
        return OrderDetail(order, self.store.order_events(order.id), self.store.deliveries(order.id))

    def list(
        self, *, phone: str | None = None, statuses: list[str] = (), since: str | None = None, limit: int = 100
    ) -> list[OrderView]:
        for status in statuses:
            self._status(status)
        customer_id = None
        if phone:
            customer = self.store.customer_by_phone(normalize_phone(phone))
            if customer is None:
                return []
            customer_id = customer.id
        return self.store.list_orders(customer_id=customer_id, statuses=statuses, since=since, limit=limit)

    def list_for_phone(self, phone: str, limit: int = 20) -> list[OrderView]:
        return self.list(phone=phone, limit=limit)

    def pending_for_phone(self, phone: str) -> list[OrderView]:
        return self.list(phone=phone, statuses=[S.AWAITING_CONFIRMATION])

    # --- entry ----------------------------------------------------------------------------------
    def new(
        self, *, phone: str, items: list[tuple[str, int]], deliveries: int | None = None, until: date | None = None,
        start: date | None = None, frequency: str = "daily", submit: bool = True, call_id: str | None = None,
    ) -> OrderView:
        actor = self.require(Action.TAKE_ORDERS)
        phone = normalize_phone(phone)
        plan = self._plan(start, frequency, deliveries, until)
        with self.store.transaction():
            customer = self._orderable_customer(phone)
            lines, names = self._lines_named(items)
            total = order_total(lines, plan.deliveries)
            moment = self.now()  # one clock reading: the order, its history, reservation and expiry agree
            now = iso(moment)
            # Entry is the hot path. A submitted order is written once, already awaiting confirmation, with
            # both steps in its history (entered as a draft, submitted) as one transaction makes them.
            status, expires_at = S.DRAFT, None
            if submit:
                check_transition(S.DRAFT, S.AWAITING_CONFIRMATION)
                self._check_balance(customer.id, total, customer.balance_fen)
                status, expires_at = S.AWAITING_CONFIRMATION, self._expiry(moment)
            fields = {
                "code": "", "customer_id": customer.id, "status": status.value,
                "start_date": plan.start.isoformat(), "frequency": plan.frequency.value,
                "deliveries": plan.deliveries, "end_date": plan.end.isoformat(), "total_fen": total,
                "expires_at": expires_at, "call_id": call_id, "created_by": actor.name, "created_at": now,
                "updated_at": now,
            }
            rows = [(i + 1, line.sku, line.quantity, line.price_fen) for i, line in enumerate(lines)]
            order_id = None
            for code in self._codes():
                fields["code"] = code
                if (order_id := self.store.insert_order(fields, rows)) is not None:
                    break
            moves = [(None, S.DRAFT.value, "entered")]
            if submit:
                moves.append((S.DRAFT.value, status.value, "submitted"))
            self.store.add_order_events(order_id, at=now, actor=actor.name, moves=moves)
            if submit:
                self._reserve(order_id, lines, plan.deliveries, actor.name, now)
            # Built from what was just written, rather than read back.
            order = OrderView(
                id=order_id, code=fields["code"], customer_id=customer.id, phone=customer.phone,
                customer_name=customer.name, status=status.value, lines=tuple(
                    OrderLineView(l.sku, names[l.sku], l.quantity, l.price_fen) for l in lines),
                start_date=fields["start_date"], frequency=fields["frequency"], deliveries=plan.deliveries,
                end_date=fields["end_date"], total_fen=total, expires_at=expires_at, created_at=now,
                created_by=actor.name, call_id=call_id, address=customer.address, zone=customer.zone,
            )
            if submit:
                self._notify_awaiting(order, amended=False)
            return order

    def submit(self, code: str) -> OrderView:
        actor = self.require(Action.TAKE_ORDERS)
        with self.store.transaction():
            order = self.get(code)
            if order.status != S.DRAFT:
                raise Refused(f"order {code} is {order.status}, not a draft", "only drafts are submitted")
            if order.start_date < self.today().isoformat():
                raise UsageError(f"draft {code} starts on {order.start_date}, which is now in the past",
                                 f"give it a new start date first: cc order amend {code} --start YYYY-MM-DD")
            self._orderable_customer(order.phone)
            return self._submit(order, actor.name, "submitted")

    def amend(
        self, code: str, *, items: list[tuple[str, int]] | None = None, deliveries: int | None = None,
        until: date | None = None, start: date | None = None, frequency: str | None = None,
    ) -> OrderView:
        """Change lines or plan before confirmation; the stock reservation and the total follow."""
        actor = self.require(Action.TAKE_ORDERS)
        with self.store.transaction():
            order = self.get(code)
            if order.status not in EDITABLE:
                hint = "a supervisor can refund it" if order.status in PAID else "enter a new order instead"
                raise Refused(f"order {code} is {order.status} and can no longer be amended", hint)
            old_lines = self._lines_of(order)
            if deliveries is None and until is None and start is None and frequency is None:
                plan = DeliveryPlan(date.fromisoformat(order.start_date), Frequency(order.frequency), order.deliveries)
            else:
                plan = self._plan(
                    start or date.fromisoformat(order.start_date), frequency or order.frequency,
                    deliveries if (deliveries is not None or until is not None) else order.deliveries, until,
                )
            lines = self._lines(items) if items is not None else old_lines
            total = order_total(lines, plan.deliveries)
            now = self.now_iso()
            if order.status == S.AWAITING_CONFIRMATION:
                self._release(order, old_lines, actor.name, "amended")
            self.store.replace_lines(order.id, [(i + 1, l.sku, l.quantity, l.price_fen) for i, l in enumerate(lines)])
            self.store.update_order(
                order.id,
                {"start_date": plan.start.isoformat(), "frequency": plan.frequency.value, "deliveries": plan.deliveries,
                 "end_date": plan.end.isoformat(), "total_fen": total},
                now,
            )
            detail = {"total_fen": total, "deliveries": plan.deliveries, "items": [[l.sku, l.quantity] for l in lines]}
            if order.status == S.AWAITING_CONFIRMATION:
                # Re-check and re-reserve, then ask the customer again (a new confirmation message).
                self._check_balance(order.customer_id, total)
                self._reserve(order.id, lines, plan.deliveries, actor.name)
                self.store.update_order(order.id, {"expires_at": self._expiry()}, now)
                self.store.add_order_event(order.id, at=now, actor=actor.name, from_status=order.status,
                                           to_status=order.status, reason="amended", detail=detail)
                self._notify_awaiting(order.id)
            else:
                self.store.add_order_event(order.id, at=now, actor=actor.name, from_status=order.status,
                                           to_status=order.status, reason="amended", detail=detail)
            return self.store.order_by_id(order.id)

    def cancel(self, code: str, *, reason: str = "cancelled by agent") -> OrderView:
        actor = self.require(Action.TAKE_ORDERS)
        with self.store.transaction():
            order = self.get(code)
            if order.status in PAID:
                raise Refused(
                    f"order {code} is {order.status}: the money has been taken",
                    f"a supervisor refunds it: cc --user SUPERVISOR order refund {code}",
                )
            return self._move(order, S.CANCELLED, actor.name, reason)

    # --- customer's answer ----------------------------------------------------------------------
    def confirm(self, code: str, *, actor: str | None = None, via: str = "phone", deliver_now: bool = True) -> OrderView:
        """The customer said yes: confirm, charge once, queue for the dairy (one transaction), then hand
        it to the dairy. ``actor`` is given by daemons acting for the customer; the CLI leaves it out.
        Daemons that run a dairy worker pass ``deliver_now=False``: the outbox row is the hand-off."""
        who = actor or self.require(Action.TAKE_ORDERS).name
        failure: CcError | None = None
        with self.store.transaction():
            order = self.get(code)
            now = self.now_iso()
            if order.status == S.AWAITING_CONFIRMATION and order.expires_at and order.expires_at <= now:
                self._move(order, S.EXPIRED, who, "no reply in time")
                failure = Refused(f"order {code} expired at {order.expires_at} before it was confirmed",
                                  "enter the order again")
            elif order.status != S.AWAITING_CONFIRMATION:
                raise self._not_awaiting(order)
            else:
                order, failure = self._confirm_and_charge(order, who, f"confirmed by {via}", now)
        if failure is not None:
            raise failure
        if deliver_now and self.dairy is not None and any(a.status == "sent" for a in self.dairy.deliver_due(order_id=order.id)):
            return self.store.order_by_id(order.id)  # the dairy took it: now sent_to_dairy
        return order

    def reject(self, code: str, *, actor: str | None = None, via: str = "phone") -> OrderView:
        who = actor or self.require(Action.TAKE_ORDERS).name
        with self.store.transaction():
            order = self.get(code)
            if order.status != S.AWAITING_CONFIRMATION:
                raise self._not_awaiting(order)
            return self._move(order, S.REJECTED, who, f"customer said no ({via})")

    def expire_due(self, *, actor: str = "system") -> list[OrderView]:
        """Orders whose confirmation window has passed become expired and release their stock."""
        expired = []
        for order_id in self.store.due_expiries(self.now_iso()):
            with self.store.transaction():
                order = self.store.order_by_id(order_id)
                if order.status == S.AWAITING_CONFIRMATION and order.expires_at <= self.now_iso():
                    expired.append(self._move(order, S.EXPIRED, actor, "no reply in time"))
        return expired

    # --- after payment --------------------------------------------------------------------------
    def refund(self, code: str, *, amount_fen: int | None = None, reason: str = "") -> OrderView:
        """Supervisor only. Without an amount: refund the undelivered part and cancel the order (the dairy is
        told); with an amount: a partial (goodwill) refund, the order goes on."""
        actor = self.require(Action.REFUND)
        if amount_fen is not None and amount_fen <= 0:
            raise UsageError(f"a refund must be more than 0.00, not {format_yuan(amount_fen)}",
                             "give --amount in yuan, e.g. 5.00, or leave it out to refund the undelivered part")
        with self.store.transaction():
            order = self.get(code)
            if order.status not in PAID:
                hint = "cancel it instead: nothing was charged" if order.status in EDITABLE | RESERVING else "nothing to refund"
                raise Refused(f"order {code} is {order.status}, not charged", hint)
            remaining = order.total_fen - order.refunded_fen
            undelivered = order.deliveries - order.deliveries_done
            cancel = amount_fen is None
            amount = order.per_delivery_fen * undelivered if cancel else amount_fen
            amount = min(amount, remaining)
            if amount <= 0:
                raise Refused(
                    f"order {code} has nothing left to refund" if remaining <= 0 else f"order {code} is fully delivered",
                    "give --amount for a goodwill refund" if remaining > 0 else "see 'cc account ledger'",
                )
            if amount_fen is not None and amount_fen > remaining:
                raise Refused(f"refund {format_yuan(amount_fen)} is more than the {format_yuan(remaining)} still refundable",
                              "give a smaller --amount")
            now = self.now_iso()
            key = f"refund:order:{order.id}:{order.refunded_fen}:{amount}"
            self.store.add_ledger_entry(customer_id=order.customer_id, kind="refund", amount_fen=amount, key=key,
                                        now=now, order_id=order.id, actor=actor.name, note=reason)
            self.store.update_order(order.id, {"refunded_fen": order.refunded_fen + amount}, now)
            if cancel and order.status != S.COMPLETED:
                for sku, units in units_needed(self._lines_of(order), undelivered).items():
                    self.store.change_stock(sku, quantity_delta=units, kind="restock", now=now, order_id=order.id,
                                            actor=actor.name, note="refund")
                cancelled = self._move(order, S.CANCELLED, actor.name, f"refunded {format_yuan(amount)}: {reason}".rstrip(": "))
                if self.dairy is not None:
                    self.dairy.enqueue(cancelled, kind="cancel")
            else:
                self.store.add_order_event(order.id, at=now, actor=actor.name, from_status=order.status,
                                           to_status=order.status, reason=f"refunded {format_yuan(amount)}: {reason}".rstrip(": "))
        if self.dairy is not None:
            self.dairy.deliver_due(order_id=order.id)
        return self.store.order_by_id(order.id)

    def record_deliveries(self, records: list[tuple[int, dict]], *, skip_bad: bool = False) -> DeliveryImportResult:
        """The dairy's delivery file: ``order_code,delivered_on[,note]``, one row per delivery made."""
        actor = self.require(Action.IMPORT_DAIRY)
        errors: list[tuple[int, str]] = []
        good: list[tuple[int, OrderView, str, str]] = []
        for line, row in records:
            code = (row.get("order_code") or "").strip()
            order = self.store.order_by_code(code)
            day = (row.get("delivered_on") or "").strip()
            try:
                date.fromisoformat(day)
            except ValueError:
                errors.append((line, f"delivered_on '{day}' is not a date (YYYY-MM-DD)"))
                continue
            if order is None:
                errors.append((line, f"unknown order code '{code}'"))
            elif order.status not in (S.SENT_TO_DAIRY, S.IN_DELIVERY, S.COMPLETED) and not any(
                d["delivered_on"] == day for d in self.store.deliveries(order.id)
            ):  # (a delivery already recorded stays harmless to re-import after a refund cancelled the order)
                errors.append((line, f"order {code} is {order.status}, not with the dairy"))
            else:
                good.append((line, order, day, (row.get("note") or "").strip()))
        if errors and not skip_bad:
            return DeliveryImportResult(0, 0, errors, [])
        try:
            return self._record(good, errors, actor.name, skip_bad)
        except _Rollback:
            return DeliveryImportResult(0, 0, errors, [])

    def _record(self, good: list, errors: list, actor_name: str, skip_bad: bool) -> DeliveryImportResult:
        recorded = already = 0
        completed: list[str] = []
        with self.store.transaction():
            now = self.now_iso()
            for line, order, day, note in good:
                order = self.store.order_by_id(order.id)
                if order.deliveries_done >= order.deliveries and not any(d["delivered_on"] == day for d in self.store.deliveries(order.id)):
                    errors.append((line, f"order {order.code} has all {order.deliveries} deliveries already"))
                    if not skip_bad:
                        raise _Rollback()
                    continue
                if not self.store.add_delivery(order.id, day, now, note):
                    already += 1
                    continue
                recorded += 1
                done = order.deliveries_done + 1
                self.store.update_order(order.id, {"deliveries_done": done}, now)
                if order.status == S.SENT_TO_DAIRY and done < order.deliveries:
                    self._move(order, S.IN_DELIVERY, actor_name, f"delivery {done}/{order.deliveries}")
                elif done == order.deliveries and order.status != S.COMPLETED:
                    self._move(order, S.COMPLETED, actor_name, f"delivery {done}/{order.deliveries}")
                    completed.append(order.code)
        return DeliveryImportResult(recorded, already, errors, completed)

    def charged_between(self, since: str, until: str | None = None) -> list[OrderView]:
        return self.store.orders_charged_between(since, until)

    # --- steps inside a transaction -------------------------------------------------------------
    def _submit(self, order: OrderView, actor: str, reason: str) -> OrderView:
        lines = self._lines_of(order)
        self._check_balance(order.customer_id, order.total_fen)
        self._reserve(order.id, lines, order.deliveries, actor)
        expires_at = self._expiry()
        order = self._move(replace(order, expires_at=expires_at), S.AWAITING_CONFIRMATION, actor, reason, release=False,
                           also={"expires_at": expires_at})
        self._notify_awaiting(order)
        return order

    def _notify_awaiting(self, order: OrderView | int, *, amended: bool = True) -> None:
        """The hook's ``amended=False``: the order was entered just now (no earlier confirmation to drop)."""
        if self.on_awaiting_confirmation is not None:
            order = order if isinstance(order, OrderView) else self.store.order_by_id(order)
            if amended:
                self.on_awaiting_confirmation(order)
            else:
                self.on_awaiting_confirmation(order, amended=False)

    def _confirm_and_charge(self, order: OrderView, actor: str, reason: str, now: str) -> tuple[OrderView, CcError | None]:
        """Awaiting confirmation -> confirmed -> charged (or payment_failed / out_of_stock), as one status
        compare-and-set with both steps in the history. Returns the order and the refusal to raise after
        commit (the failed state must be committed, so it is not raised inside the transaction)."""
        lines = self._lines_of(order)
        needed = units_needed(lines, order.deliveries)
        levels = self.store.stock_levels(needed)
        short = [sku for sku, units in needed.items() if levels.get(sku, (0, 0))[0] < units]
        failure: CcError | None = None
        if short:
            target, why = S.OUT_OF_STOCK, f"not enough stock of {', '.join(short)} at charge time"
            failure = Refused(f"order {order.code} could not be charged: not enough stock of {', '.join(short)}",
                              "the order is now out_of_stock; import the dairy's stock and enter it again")
        elif (balance := self.store.balance_fen(order.customer_id)) < order.total_fen:
            target, why = S.PAYMENT_FAILED, f"balance {format_yuan(balance)} short of {format_yuan(order.total_fen)}"
            failure = Refused(
                f"order {order.code} could not be charged: balance {format_yuan(balance)} is short of {format_yuan(order.total_fen)}",
                "the order is now payment_failed; top up the account and enter it again",
            )
        else:
            target, why = S.CHARGED, f"charged {format_yuan(order.total_fen)}"
        try:
            check_transition(order.status, S.CONFIRMED)
            check_transition(S.CONFIRMED, target)
        except TransitionError as exc:
            raise Refused(f"order {order.code}: {exc}", f"see 'cc order show {order.code}'") from None
        if not self.store.set_order_status(order.id, order.status, target.value, now):
            raise Refused(f"order {order.code} changed while this was being done", "look at it again and retry")
        self.store.add_order_events(order.id, at=now, actor=actor,
                                    moves=[(order.status, S.CONFIRMED.value, reason), (S.CONFIRMED.value, target.value, why)])
        order = replace(order, status=target.value)
        if failure is not None:
            self._release(order, lines, actor, why)
            return order, failure
        # The status compare-and-set above guarantees one charge per order; the ledger's unique key is the
        # backstop should anything ever try again.
        self.store.add_ledger_entry(customer_id=order.customer_id, kind="charge", amount_fen=-order.total_fen,
                                    key=f"charge:order:{order.id}", now=now, order_id=order.id, actor=actor,
                                    note=f"order {order.code}")
        for sku, units in needed.items():
            self.store.change_stock(sku, quantity_delta=-units, reserved_delta=-units, kind="consume", now=now,
                                    order_id=order.id, actor=actor)
        if self.dairy is not None:
            self.dairy.enqueue(order, kind="order", now=now)
        return order, None

    def _move(self, order: OrderView, target: OrderStatus, actor: str, reason: str, *, release: bool = True,
              also: dict | None = None) -> OrderView:
        """One state change: checked by the domain, compare-and-set in the store, written to history.
        Leaving a reserving state for anything but a charge releases the stock."""
        try:
            check_transition(order.status, target)
        except TransitionError as exc:
            raise Refused(f"order {order.code}: {exc}", f"see 'cc order show {order.code}'") from None
        now = self.now_iso()
        if not self.store.set_order_status(order.id, order.status, target.value, now, also):
            raise Refused(f"order {order.code} changed while this was being done", "look at it again and retry")
        if release and order.status in RESERVING and target not in RESERVING:
            self._release(order, self._lines_of(order), actor, reason)
        self.store.add_order_event(order.id, at=now, actor=actor, from_status=order.status, to_status=target.value, reason=reason)
        return replace(order, status=target.value)

    def _reserve(self, order_id: int, lines: list[Line], deliveries: int, actor: str, now: str | None = None) -> None:
        now = now or self.now_iso()
        for sku, units in units_needed(lines, deliveries).items():
            available = self.store.reserve_stock(sku, units, now=now, order_id=order_id, actor=actor)
            if available is not None:
                raise Refused(f"not enough stock of {sku}: {available} available, {units} needed for the whole plan",
                              "order fewer, or fewer deliveries, or import the dairy's stock ('cc stock import')")

    def _release(self, order: OrderView, lines: list[Line], actor: str, reason: str) -> None:
        now = self.now_iso()
        for sku, units in units_needed(lines, order.deliveries).items():
            self.store.change_stock(sku, reserved_delta=-units, kind="release", now=now, order_id=order.id, actor=actor, note=reason)

    def _check_balance(self, customer_id: int, total: int, balance: int | None = None) -> None:
        if balance is None:
            balance = self.store.balance_fen(customer_id)
        if balance < total:
            raise Refused(f"balance {format_yuan(balance)} is short of the order total {format_yuan(total)}",
                          "top up first: cc account topup PHONE YUAN, or order less")

    # --- helpers --------------------------------------------------------------------------------
    def _orderable_customer(self, phone: str) -> CustomerView:
        customer = self.store.customer_by_phone(phone)
        if customer is None:
            raise NotFound(f"no customer with phone {phone}", "add the customer first: cc customer add --phone ... --name ...")
        if customer.is_blacklisted:
            raise Refused(f"customer {phone} is blacklisted", "a supervisor can remove the tag: cc customer edit PHONE --remove-tag blacklist")
        return customer

    def _lines(self, items: list[tuple[str, int]]) -> list[Line]:
        return self._lines_named(items)[0]

    def _lines_named(self, items: list[tuple[str, int]]) -> tuple[list[Line], dict[str, str]]:
        """Checked order lines at today's prices, and each product's name."""
        if not items:
            raise UsageError("an order needs at least one item", "give --item SKU:QTY")
        try:
            merged = merge_lines(items)
        except PlanError as exc:
            raise UsageError(str(exc), "quantities are whole numbers of 1 or more") from None
        lines, names = [], {}
        for sku, quantity in merged:
            product = self.store.product(sku)
            if product is None or not product["active"]:
                raise NotFound(f"unknown product SKU '{sku}'", "see 'cc product list'")
            lines.append(Line(sku, quantity, product["price_fen"]))
            names[sku] = product["name"]
        return lines, names

    @staticmethod
    def _lines_of(order: OrderView) -> list[Line]:
        return [Line(l.sku, l.quantity, l.price_fen) for l in order.lines]

    def _plan(self, start: date | None, frequency: str, deliveries: int | None, until: date | None) -> DeliveryPlan:
        today = self.today()
        start = start or today + timedelta(days=self.config.orders.default_start_offset_days)
        try:
            return make_plan(start=start, today=today, frequency=self._frequency(frequency), deliveries=deliveries, until=until)
        except PlanError as exc:
            raise UsageError(str(exc), f"dates are YYYY-MM-DD; today is {today.isoformat()}") from None

    @staticmethod
    def _frequency(frequency: str) -> str:
        if frequency not in ("daily", "weekly"):
            raise UsageError(f"unknown frequency '{frequency}'", "use daily or weekly")
        return frequency

    @staticmethod
    def _status(status: str) -> OrderStatus:
        try:
            return OrderStatus(status)
        except ValueError:
            raise UsageError(f"unknown order status '{status}'", "one of: " + ", ".join(s.value for s in OrderStatus)) from None

    def _expiry(self, moment: datetime | None = None) -> str:
        moment = moment or self.now()
        return iso(moment + timedelta(minutes=self.config.orders.confirmation_timeout_minutes))

    def _codes(self) -> Iterator[str]:
        """Candidate order codes; the store refuses one that is taken and the next is tried."""
        for _ in range(50):
            yield make_order_code(self.rng)
        for _ in range(50):  # the 6-digit space is getting full: use longer codes
            yield make_order_code(self.rng, length=8)
        raise Refused("could not find a free order code", "try again")

    @staticmethod
    def _not_awaiting(order: OrderView) -> Refused:
        if order.status in PAID or order.status == S.CONFIRMED:
            return Refused(f"order {order.code} is already confirmed ({order.status})", "nothing to do")
        return Refused(f"order {order.code} is {order.status}, not awaiting confirmation",
                       f"see 'cc order show {order.code}'")


class _Rollback(Exception):
    """Raised inside an import transaction to undo everything when a row turns out bad."""
