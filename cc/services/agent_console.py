"""The agent console's use cases (issue 6): sign in, the live snapshot the console polls (agent state, the
call the ACD offers this agent, queue counts, gateway health), the customer card, order entry with live
checks, wrap-up, search and call control.

Everything returned is an immutable value, so the TUI can hand it from a worker thread to its widgets.
No Textual here: the same calls serve the snapshot tests, the bench and any other front end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cc.domain.orders import EDITABLE, make_plan
from cc.domain.timestamps import iso, parse_iso
from cc.errors import CcError, NotFound, Unreachable, UsageError
from cc.services.sign_in import authenticate

CONSOLE_ROLES = ("agent", "expert", "supervisor")
WRAP_CODES = ("order", "enquiry", "complaint", "transferred", "no_sale", "wrong_number", "other")
PAUSE_REASONS = ("break", "lunch", "meeting", "training", "toilet", "other")
ACTIVE_ORDER = ("draft", "awaiting_confirmation", "confirmed", "charged", "sent_to_dairy", "in_delivery")
# The confirmation steps an order shows after it is submitted, in order.
STEPS = ("submitted", "sms_sent", "sms_delivered", "replied", "charged", "sent_to_dairy")
# Call controls the console offers, in the order of its menu; the first three need a target.
CONTROL_ACTIONS = ("hangup", "hold", "unhold", "transfer", "attended_transfer", "conference", "consult", "pickup", "dial")
NEEDS_TARGET = ("transfer", "attended_transfer", "conference")
_REACHED = {"awaiting_confirmation": 1, "confirmed": 4, "charged": 5, "sent_to_dairy": 6, "in_delivery": 6, "completed": 6}


@dataclass(frozen=True)
class CallInfo:
    waiting_id: int
    call_id: str
    caller: str
    queue: str
    service: str
    status: str  # ringing | connected
    waited_seconds: int
    path: tuple[str, ...] = ()
    vip: bool = False


@dataclass(frozen=True)
class Snapshot:
    user: str
    state: str
    reason: str
    seconds_in_state: int
    wrap_left: int | None
    waiting: tuple[tuple[str, int], ...]  # (queue, callers waiting) for the agent's services
    modems: tuple[tuple[str, bool], ...]  # (modem, alive)
    agi_last_call: str | None
    call: CallInfo | None
    now: str
    card: Card | None = None  # the caller's card, when the call is new to the console (one round trip)


@dataclass(frozen=True)
class OrderLine:
    code: str
    status: str
    total_fen: int
    deliveries: int
    deliveries_done: int
    items: str
    start_date: str


@dataclass(frozen=True)
class Card:
    phone: str
    known: bool
    name: str = ""
    address: str = ""
    tags: tuple[str, ...] = ()
    vip: bool = False
    blacklisted: bool = False
    balance_fen: int = 0
    orders: tuple[OrderLine, ...] = ()
    calls: tuple[tuple[str, str], ...] = ()  # (at, result)
    sms: tuple[tuple[str, str, str], ...] = ()  # (at, direction, text)
    complaints: tuple[tuple[int, str, str, str], ...] = ()  # (id, category, status, text)


@dataclass(frozen=True)
class Quote:
    total_fen: int
    balance_fen: int
    enough_balance: bool
    problems: tuple[str, ...] = ()  # stock or input problems, one sentence each
    deliveries: int = 0


@dataclass(frozen=True)
class Progress:
    code: str
    status: str
    steps: tuple[tuple[str, bool], ...]
    editable: bool


@dataclass(frozen=True)
class Found:
    kind: str  # customer | order
    key: str  # phone or order code
    label: str
    phone: str = ""


@dataclass(frozen=True)
class ControlResult:
    """What a call control did, for the console: the call it concerns (a click-to-dial's new call id; a
    picked-up call's id and caller's card) and whether the agent's part in the call is over (wrap up)."""

    action: str
    target: str = ""
    call_id: str = ""
    caller: str = ""
    ends_call: bool = False
    card: Card | None = None


@dataclass
class _Memo:
    last_heartbeat: float = -1e9
    skills: tuple[str, ...] = field(default_factory=tuple)
    last_outbound_check: float = -1e9


# A click-to-dial call's end reaches the ACD through the hangup handler on the agent's channel, an AGI
# request. With the AGI server down at that moment the agent would stay on_call: the console asks Asterisk
# whether the agent's leg still exists, this often, once the call has lasted as long.
OUTBOUND_CHECK_SECONDS = 15.0


class ConsoleService:
    """Built per signed-in user (``services.acting_user``); one instance per thread (its connection)."""

    def __init__(self, services: Any, acd: Any, store: Any, *, calls: Any = None,
                 control: Callable[[], AbstractContextManager[Any]] | None = None,
                 heartbeat_every: float = 5.0) -> None:
        self.services = services
        self.acd = acd
        self.store = store
        self.calls = calls
        self.control = control
        self.clock = services.clock
        self.heartbeat_every = heartbeat_every
        self._memo = _Memo()

    @property
    def user(self) -> str:
        return self.services.acting_user or ""

    # -- sign in / out -------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> dict:
        return authenticate(self.services.users, name, password, roles=CONSOLE_ROLES, role_text="an agent",
                            hint="sign in with an agent or expert account")

    def sign_in(self) -> dict:
        """Log the (already authenticated) user into the ACD: ready for calls."""
        view = self.acd.agent_view(self.user)
        if view["state"] == "offline":
            view = self.acd.change_state(self.user, "login")
        self.acd.heartbeat(self.user)
        self._memo.last_heartbeat = self.clock.now().timestamp()
        self._memo.skills = tuple(view["skills"])
        return view

    def sign_out(self) -> None:
        """Out of rotation. Never raises for an agent on a call: the ACD frees them when the call ends."""
        try:
            state = self.acd.agent_view(self.user)["state"]
            if state not in ("ringing", "on_call", "offline"):
                self.acd.change_state(self.user, "logout")
        except CcError:
            pass

    def change_state(self, command: str, reason: str = "") -> dict:
        return self.acd.change_state(self.user, command, reason)

    # -- the live snapshot -----------------------------------------------------------------------------
    def snapshot(self, known_call: int | None = None) -> Snapshot:
        """The live state; with the caller's card when the call is not ``known_call`` (a screen pop)."""
        now = self.clock.now()
        now_s = now.timestamp()
        if now_s - self._memo.last_heartbeat >= self.heartbeat_every:
            self.acd.heartbeat(self.user)
            self._memo.last_heartbeat = now_s
        row = self.acd.store.agent(self.user)
        if row is None:
            raise NotFound(f"user '{self.user}' is not set up as an agent",
                           f"ask a supervisor to run 'cc agent set {self.user} --dial ... --skill orders:5'")
        if self._outbound_ended(row, now_s):
            row = self.acd.store.agent(self.user) or row
        if row["state"] == "wrap_up" and row.get("wrap_until") and row["wrap_until"] <= iso(now):
            self.acd.release_wrap_ups()
            row = self.acd.store.agent(self.user) or row
        since = parse_iso(row["state_since"])
        wrap_left = None
        if row["state"] == "wrap_up" and row.get("wrap_until"):
            wrap_left = max(0, int((parse_iso(row["wrap_until"]) - now).total_seconds()))
        skills = set(row.get("skills") or {})
        counts = self.store.waiting_counts()
        queues = self.acd.queues()
        waiting = tuple((name, counts.get(name, 0)) for name, q in queues.items() if q.service in skills)
        fresh_since = iso(now - timedelta(seconds=max(3 * self.services.config.sms.heartbeat_seconds, 90)))
        modems = tuple((m["name"], m["state"] != "stopped" and (m["heartbeat_at"] or "") >= fresh_since)
                       for m in self.store.modems())
        call = None
        if row["state"] in ("ringing", "on_call"):
            offered = self.store.waiting(row["waiting_id"]) if row.get("waiting_id") else None
            offered = offered or self.store.offered_to(self.user)
            if offered is not None:
                call = self._call_info(offered, queues, now_s)
        return Snapshot(
            user=self.user, state=row["state"], reason=row["reason"] or "",
            seconds_in_state=max(0, int((now - since).total_seconds())), wrap_left=wrap_left, waiting=waiting,
            modems=modems, agi_last_call=self.store.last_call_at(), call=call, now=iso(now),
            card=self.card(call.caller) if call is not None and call.waiting_id != known_call else None,
        )

    def _outbound_ended(self, row: dict, now_s: float) -> bool:
        """True when the agent was on a click-to-dial call whose channel Asterisk no longer has: the agent
        wraps up as the hangup handler would have made them. Asterisk unreachable: nothing changes."""
        if row["state"] != "on_call" or row.get("reason") != "outbound" or self.control is None:
            return False
        if now_s - parse_iso(row["state_since"]).timestamp() < OUTBOUND_CHECK_SECONDS:
            return False
        if now_s - self._memo.last_outbound_check < OUTBOUND_CHECK_SECONDS:
            return False
        self._memo.last_outbound_check = now_s
        call_id = self.acd.store.current_call_id(self.user)
        if not call_id:
            return False
        try:
            with self.control() as service:
                live = any(c.uniqueid == call_id for c in service.channels())  # Originate's ChannelId: the agent's leg
        except (CcError, OSError):
            return False
        return not live and self.acd.agent_gone(user=self.user, call_id=call_id) is not None

    def _call_info(self, row: dict, queues: dict, now_s: float) -> CallInfo:
        record = self.store.call(row["call_id"]) or {}
        try:
            path = tuple(json.loads(record.get("path") or "[]"))
        except ValueError:
            path = ()
        if not path:
            path = tuple(self.store.ivr_nodes(row["call_id"]))
        queue = queues.get(row["queue"])
        return CallInfo(
            waiting_id=row["id"], call_id=row["call_id"], caller=row["caller"], queue=row["queue"],
            service=queue.service if queue else row["queue"], status=row["status"],
            waited_seconds=max(0, int(now_s - parse_iso(row["entered_at"]).timestamp())), path=path,
            vip=bool(row.get("vip")),
        )

    # -- the customer ----------------------------------------------------------------------------------
    def card(self, phone: str, orders_shown: int = 5) -> Card:
        from cc.phone import normalize_phone

        phone = normalize_phone(phone)
        customer = self.services.customers.find_by_phone(phone)
        sms = tuple((r["at"] or "", r["direction"], r["text"]) for r in self.store.recent_sms(phone))
        calls = tuple((r["started_at"], r["result"] or "") for r in self.store.recent_calls(phone))
        if customer is None:
            return Card(phone=phone, known=False, sms=sms, calls=calls)
        orders = self.services.orders.list(phone=phone, statuses=list(ACTIVE_ORDER), limit=orders_shown)
        complaints = ()
        if self.services.complaints is not None:
            complaints = tuple((c.id, c.category_label, c.status, c.text)
                               for c in self.services.complaints.list(phone=phone, limit=20) if c.status != "closed")
        return Card(
            phone=phone, known=True, name=customer.name, address=customer.address, tags=tuple(sorted(customer.tags)),
            vip=customer.is_vip, blacklisted=customer.is_blacklisted, balance_fen=customer.balance_fen,
            orders=tuple(_line(o) for o in orders), calls=calls, sms=sms, complaints=complaints,
        )

    def add_customer(self, phone: str, name: str, address: str, zone: str = "") -> Card:
        if not (name or "").strip():
            raise UsageError("the customer needs a name", "type the name the caller gives")
        self.services.customers.add(phone=phone, name=name.strip(), address=(address or "").strip(), zone=zone.strip())
        return self.card(phone)

    def order_history(self, phone: str, limit: int = 50) -> tuple[OrderLine, ...]:
        return tuple(_line(o) for o in self.services.orders.list(phone=phone, limit=limit))

    # -- orders ----------------------------------------------------------------------------------------
    def products(self) -> tuple[tuple[str, str, int, int], ...]:
        """(sku, name, price_fen, available) for the product picker."""
        return tuple((p["sku"], p["name"], p["price_fen"], p["quantity"] - p["reserved"])
                     for p in self.services.catalog.products())

    def quote(self, phone: str, items: list[tuple[str, int]], start: date | None, frequency: str,
              deliveries: int) -> Quote:
        """The live checks as the agent types: total, balance, stock (nothing is written)."""
        problems: list[str] = []
        catalog = {sku: (name, price, avail) for sku, name, price, avail in self.products()}
        balance = self.services.accounts.balance_fen(phone) if phone else 0
        today = self.services.orders.today()
        start = start or (today + timedelta(days=1))
        try:
            plan = make_plan(start=start, today=today, frequency=frequency, deliveries=deliveries)
        except Exception as exc:  # noqa: BLE001 - the domain's plan errors are input problems
            return Quote(0, balance, False, (str(exc),))
        per_delivery = 0
        for sku, qty in items:
            if sku not in catalog:
                problems.append(f"unknown product {sku}")
                continue
            name, price, avail = catalog[sku]
            per_delivery += price * qty
            if qty * plan.deliveries > avail:
                problems.append(f"{name}: {avail} in stock, {qty * plan.deliveries} needed")
        total = per_delivery * plan.deliveries
        return Quote(total, balance, balance >= total, tuple(problems), plan.deliveries)

    def submit_order(self, phone: str, items: list[tuple[str, int]], start: date | None, frequency: str,
                     deliveries: int, call_id: str | None = None) -> Progress:
        if not items:
            raise UsageError("the order has no products", "pick a product and a quantity first")
        order = self.services.orders.new(phone=phone, items=items, start=start, frequency=frequency,
                                         deliveries=deliveries, call_id=call_id)
        return self.progress(order.code)

    def amend_order(self, code: str, items: list[tuple[str, int]], start: date | None, frequency: str,
                    deliveries: int) -> Progress:
        self.services.orders.amend(code, items=items, start=start, frequency=frequency, deliveries=deliveries)
        return self.progress(code)

    def cancel_order(self, code: str) -> Progress:
        self.services.orders.cancel(code, reason=f"cancelled by {self.user or 'agent'} on the phone")
        return self.progress(code)

    def progress(self, code: str) -> Progress:
        order = self.services.orders.get(code)
        reached = _REACHED.get(order.status, 0)
        sms = self.store.order_sms(order.id)
        if sms is not None:
            reached = max(reached, 1)
            if sms["status"] in ("sent", "delivered"):
                reached = max(reached, 2)
            if sms["status"] == "delivered":
                reached = max(reached, 3)
        if self.store.order_reply(code) is not None:
            reached = max(reached, 4)
        done = {name for i, name in enumerate(STEPS) if i < reached}
        if order.status in ("charged", "sent_to_dairy", "in_delivery", "completed"):
            done |= {"sms_sent", "replied", "charged"}
        steps = tuple((name, name in done) for name in STEPS)
        return Progress(code, order.status, steps, order.status in {s.value for s in EDITABLE})

    # -- complaints ------------------------------------------------------------------------------------
    def complaint_categories(self) -> tuple[str, ...]:
        return tuple(self.services.complaints.categories) if self.services.complaints else ()

    def open_complaint(self, phone: str, category: str, text: str, *, priority: str = "normal",
                       order_code: str | None = None, call_id: str | None = None) -> int:
        if call_id and self.store.call(call_id) is None:
            call_id = None  # a call the IVR did not record (dialled straight to the queue): no link
        complaint = self.services.complaints.new(phone=phone, category=category, text=text, priority=priority,
                                                 order_code=order_code or None, call_id=call_id or None)
        return complaint.id

    def note_complaint(self, complaint_id: int, text: str) -> None:
        self.services.complaints.note(complaint_id, text)

    # -- wrap-up ---------------------------------------------------------------------------------------
    def wrap_up(self, call_id: str, caller: str, code: str, notes: str = "") -> int:
        if code not in WRAP_CODES:
            raise UsageError(f"unknown wrap-up code {code!r}", f"use one of: {', '.join(WRAP_CODES)}")
        with self.store.transaction():
            return self.store.add_wrapup({"at": iso(self.clock.now()), "agent": self.user, "call_id": call_id or "",
                                          "caller": caller or "", "code": code, "notes": (notes or "").strip()})

    def done_wrapping(self) -> dict:
        """The "I'm done" key: ready now, before the wrap-up time runs out."""
        return self.acd.change_state(self.user, "ready")

    # -- search ----------------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 20) -> tuple[Found, ...]:
        text = (text or "").strip()
        if not text:
            return ()
        found: list[Found] = []
        for code in self.store.order_codes_like(text, 5):
            order = self.services.orders.get(code)
            found.append(Found("order", code, f"{code} {order.customer_name} {order.status}", order.phone))
        digits = text.lstrip("+")
        query = text
        if digits.isdigit() and len(digits) >= 11:
            try:
                from cc.phone import normalize_phone

                query = normalize_phone(text)
            except CcError:
                pass
        for c in self.services.customers.search(query, limit=limit):
            found.append(Found("customer", c.phone, f"{c.phone} {c.name} {c.address}", c.phone))
        return tuple(found[:limit])

    # -- call control ----------------------------------------------------------------------------------
    def call_control(self, action: str, target: str = "", number: str = "") -> ControlResult:
        """One of ``CONTROL_ACTIONS`` on the signed-in agent's call. ``target``: a queue, an agent, ``expert``
        or a phone number (transfers, conference; dial: the number); ``number``: the customer on screen,
        dialled when no target is given."""
        user, target = self.user, (target or "").strip()
        if action not in CONTROL_ACTIONS:
            raise UsageError(f"unknown call control {action!r}", f"use one of: {', '.join(CONTROL_ACTIONS)}")
        if action in NEEDS_TARGET and not target:
            raise UsageError("say where the call should go",
                             "type a queue (orders), an agent (agent:li), expert, or a phone number above the list")
        if action == "hangup":
            self.control_action("hangup", user)
            return ControlResult(action, ends_call=True)
        if action in ("hold", "unhold"):
            self.control_action("mute", user, action == "hold")
            return ControlResult(action)
        if action in ("transfer", "attended_transfer", "consult"):
            target = "expert" if action == "consult" else target
            self.control_action("transfer", user, target, attended=action != "transfer")
            return ControlResult(action, target, ends_call=action == "transfer")
        if action == "conference":
            self.control_action("conference", user, target)
            return ControlResult(action, target)
        if action == "pickup":
            done = self.control_action("pickup", user)
            colleague = done.get("picked_from") or ""
            offered = self.store.offered_to(colleague) if colleague else None
            if offered is None:
                return ControlResult(action, colleague)
            return ControlResult(action, colleague, offered["call_id"], offered["caller"],
                                 card=self.card(offered["caller"]))
        number = target or number
        if not number:
            raise UsageError("no number to dial", "open a customer's card (F6 finds one) or type a number above the list")
        from cc.phone import normalize_phone

        number = normalize_phone(number)
        done = self.control_action("dial", user, number)
        return ControlResult(action, number, done.get("call") or "", number)

    def control_action(self, action: str, *args: Any, **kwargs: Any) -> dict:
        """Run one call-control action over a fresh AMI link. AMI down -> Unreachable with a hint."""
        if self.control is None:
            raise Unreachable("call control is not available here", "start the console with Asterisk configured")
        try:
            with self.control() as service:
                return getattr(service, action)(*args, **kwargs)
        except CcError:
            raise
        except OSError as exc:
            raise Unreachable(f"Asterisk (AMI) cannot be reached: {exc}",
                              "check that Asterisk runs and asterisk.ami in the config; the console keeps working") from None


def _line(order: Any) -> OrderLine:
    items = ", ".join(f"{l.name}x{l.quantity}" for l in order.lines)
    return OrderLine(order.code, order.status, order.total_fen, order.deliveries, order.deliveries_done, items,
                     order.start_date)


__all__ = ["CONSOLE_ROLES", "CONTROL_ACTIONS", "PAUSE_REASONS", "WRAP_CODES", "Card", "CallInfo", "ConsoleService",
           "ControlResult", "Found", "OrderLine", "Progress", "Quote", "Snapshot"]
