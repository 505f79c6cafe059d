"""Orders: the lifecycle state machine, delivery plans, totals and order codes. Pure: no I/O, no clock.

    draft -> awaiting_confirmation -> confirmed -> charged -> sent_to_dairy -> in_delivery -> completed
    side exits: cancelled, rejected (customer said no), expired (no reply in time),
                payment_failed (balance short at charge time), out_of_stock (stock gone at charge time)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class OrderStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    CHARGED = "charged"
    SENT_TO_DAIRY = "sent_to_dairy"
    IN_DELIVERY = "in_delivery"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment_failed"
    OUT_OF_STOCK = "out_of_stock"


S = OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.DRAFT: frozenset({S.AWAITING_CONFIRMATION, S.CANCELLED}),
    S.AWAITING_CONFIRMATION: frozenset({S.CONFIRMED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.CHARGED, S.PAYMENT_FAILED, S.OUT_OF_STOCK, S.CANCELLED}),
    S.CHARGED: frozenset({S.SENT_TO_DAIRY, S.CANCELLED}),
    S.SENT_TO_DAIRY: frozenset({S.IN_DELIVERY, S.COMPLETED, S.CANCELLED}),
    S.IN_DELIVERY: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.PAYMENT_FAILED: frozenset(),
    S.OUT_OF_STOCK: frozenset(),
}

# States whose order holds a stock reservation (released on any exit that is not a charge).
RESERVING = frozenset({S.AWAITING_CONFIRMATION, S.CONFIRMED})
# States an agent may still amend or cancel without a refund.
EDITABLE = frozenset({S.DRAFT, S.AWAITING_CONFIRMATION})
# States where money has been taken: only a supervisor's refund undoes them.
PAID = frozenset({S.CHARGED, S.SENT_TO_DAIRY, S.IN_DELIVERY, S.COMPLETED})
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class TransitionError(ValueError):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order that is {current} cannot become {target}")
        self.current = current
        self.target = target


def check_transition(current: OrderStatus | str, target: OrderStatus | str) -> OrderStatus:
    current, target = OrderStatus(current), OrderStatus(target)
    if target not in TRANSITIONS[current]:
        raise TransitionError(current, target)
    return target


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def step(self) -> timedelta:
        return timedelta(days=1 if self is Frequency.DAILY else 7)


@dataclass(frozen=True)
class DeliveryPlan:
    start: date
    frequency: Frequency
    deliveries: int

    @property
    def end(self) -> date:
        return self.start + self.frequency.step * (self.deliveries - 1)

    def dates(self) -> list[date]:
        return [self.start + self.frequency.step * i for i in range(self.deliveries)]


class PlanError(ValueError):
    pass


def make_plan(
    *, start: date, today: date, frequency: Frequency | str = Frequency.DAILY,
    deliveries: int | None = None, until: date | None = None,
) -> DeliveryPlan:
    """A plan from either a number of deliveries or an end date (inclusive). The start is not in the past."""
    frequency = Frequency(frequency)
    if start < today:
        raise PlanError(f"start date {start.isoformat()} is in the past")
    if deliveries is not None and until is not None:
        raise PlanError("give either a number of deliveries or an end date, not both")
    if until is not None:
        if until < start:
            raise PlanError(f"end date {until.isoformat()} is before the start date {start.isoformat()}")
        deliveries = (until - start).days // frequency.step.days + 1
    if deliveries is None:
        deliveries = 1
    if deliveries <= 0:
        raise PlanError("the number of deliveries must be at least 1")
    if deliveries > 3660:
        raise PlanError("a plan of more than 3660 deliveries is not accepted")
    return DeliveryPlan(start=start, frequency=frequency, deliveries=deliveries)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int  # per delivery
    price_fen: int  # unit price


def order_total(lines: list[Line] | tuple[Line, ...], deliveries: int) -> int:
    """The whole plan is paid up front: unit price x quantity x number of deliveries."""
    return sum(line.price_fen * line.quantity for line in lines) * deliveries


def units_needed(lines: list[Line] | tuple[Line, ...], deliveries: int) -> dict[str, int]:
    """Stock each SKU needs for the whole plan (what gets reserved)."""
    needed: dict[str, int] = {}
    for line in lines:
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity * deliveries
    return needed


def merge_lines(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The same SKU given twice becomes one line; order of first appearance is kept."""
    merged: dict[str, int] = {}
    for sku, quantity in items:
        if quantity <= 0:
            raise PlanError(f"quantity for {sku} must be at least 1, not {quantity}")
        merged[sku] = merged.get(sku, 0) + quantity
    return list(merged.items())


# --- order codes -------------------------------------------------------------------------------------
# Digits only (easy to read out and to key on a phone), the last one a Damm check digit so a mistyped
# or swapped digit is caught before it reaches the wrong order.

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3), (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6), (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7), (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def make_order_code(rng: random.Random, length: int = 6) -> str:
    body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 2))
    return body + str(damm_digit(body))


def is_valid_order_code(code: str) -> bool:
    return code.isdigit() and len(code) >= 3 and damm_digit(code) == 0


@dataclass(frozen=True)
class OrderLineView:
    sku: str
    name: str
    quantity: int
    price_fen: int


@dataclass(frozen=True)
class OrderView:
    id: int
    code: str
    customer_id: int
    phone: str
    customer_name: str
    status: str
    lines: tuple[OrderLineView, ...]
    start_date: str
    frequency: str
    deliveries: int
    end_date: str
    total_fen: int
    deliveries_done: int = 0
    refunded_fen: int = 0
    expires_at: str | None = None
    created_at: str = ""
    created_by: str = ""
    call_id: str | None = None
    address: str = ""  # the customer's delivery address and zone, as the dairy needs them
    zone: str = ""

    @property
    def per_delivery_fen(self) -> int:
        return self.total_fen // self.deliveries

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class OrderEvent:
    at: str
    actor: str
    from_status: str | None
    to_status: str
    reason: str
