"""Complaints: taken on a call (or later), linked to the customer, the order and the call; a deadline from
the category's SLA; assigned, noted, escalated when overdue (cron), closed with a resolution, and the
customer told by SMS. Every change is a row in the append-only timeline, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cc.domain import complaints as rules
from cc.domain.complaints import ComplaintRuleError, ComplaintStatus, Priority
from cc.domain.timestamps import iso, parse_iso
from cc.domain.users import Action
from cc.errors import ConfigError, NotFound, Refused, UsageError
from cc.phone import normalize_phone
from cc.services.base import ServiceBase


@dataclass(frozen=True)
class Complaint:
    id: int
    customer_id: int
    customer_name: str
    phone: str
    category: str
    category_label: str
    priority: str
    status: str
    text: str
    order_code: str | None
    call_id: str | None
    assignee: str | None
    due_at: str
    overdue: bool
    created_at: str
    created_by: str
    escalated_at: str | None
    closed_at: str | None
    resolution: str | None
    close_sms_id: int | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class ComplaintService(ServiceBase):
    def __init__(self, *args: Any, complaints: Any, sms: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.complaints = complaints  # cc.store.complaints.ComplaintStore over the same connection
        self.sms = sms  # SmsService: the closing SMS is queued in the closing transaction
        try:
            self.categories = rules.categories_from(self.config.complaints.categories)
        except ValueError as exc:
            raise ConfigError(f"{self.config.source or 'config'}: complaints.categories: {exc}",
                              "list each category once with a name and sla_hours") from None

    # --- reading ------------------------------------------------------------------------------------
    def _view(self, row: dict) -> Complaint:
        category = self.categories.get(row["category"])
        return Complaint(
            id=row["id"], customer_id=row["customer_id"], customer_name=row["customer_name"], phone=row["phone"],
            category=row["category"], category_label=category.label if category else row["category"],
            priority=row["priority"], status=row["status"], text=row["text"], order_code=row["order_code"],
            call_id=row["call_id"], assignee=row["assignee"], due_at=row["due_at"],
            overdue=rules.is_overdue(row["status"], parse_iso(row["due_at"]), self.now()),
            created_at=row["created_at"], created_by=row["created_by"], escalated_at=row["escalated_at"],
            closed_at=row["closed_at"], resolution=row["resolution"], close_sms_id=row["close_sms_id"],
        )

    def get(self, complaint_id: int) -> Complaint:
        row = self.complaints.get(int(complaint_id))
        if row is None:
            raise NotFound(f"no complaint with id {complaint_id}", "see 'cc complaint list'")
        return self._view(row)

    def timeline(self, complaint_id: int) -> list[dict]:
        self.get(complaint_id)
        return self.complaints.events(int(complaint_id))

    def list(self, *, status: str | None = None, overdue: bool = False, phone: str | None = None, limit: int = 200) -> list[Complaint]:
        statuses = []
        if status:
            if status not in rules.STATUSES:
                raise UsageError(f"unknown complaint status {status!r}", f"use one of: {', '.join(rules.STATUSES)}")
            statuses = [status]
        customer_id = None
        if phone:
            customer = self.store.customer_by_phone(normalize_phone(phone))
            if customer is None:
                return []
            customer_id = customer.id
        found = self.complaints.list(statuses=statuses, overdue_at=self.now_iso() if overdue else None,
                                     customer_id=customer_id, limit=limit)
        return [self._view(r) for r in found]

    # --- changes ------------------------------------------------------------------------------------
    def new(self, *, phone: str, category: str, text: str, order_code: str | None = None, call_id: str | None = None,
            priority: str = "normal") -> Complaint:
        actor = self.require(Action.HANDLE_COMPLAINTS)
        phone = normalize_phone(phone)
        key = (category or "").strip().lower()
        if key not in self.categories:
            raise UsageError(f"unknown complaint category {category!r}", f"use one of: {', '.join(self.categories)}")
        if priority not in rules.PRIORITIES:
            raise UsageError(f"unknown priority {priority!r}", "use high, normal or low")
        if not text or not text.strip():
            raise UsageError("the complaint text is empty", "say what the customer complains about with --text")
        cfg = self.config.complaints
        with self.store.transaction():
            customer = self.store.customer_by_phone(phone)
            if customer is None:
                raise NotFound(f"no customer with phone {phone}", "add the customer first: cc customer add --phone ... --name ...")
            order_id = None
            if order_code:
                order = self.store.order_by_code(order_code.strip())
                if order is None:
                    raise NotFound(f"no order with code {order_code}", "see 'cc order list --phone PHONE'")
                if order.customer_id != customer.id:
                    raise Refused(f"order {order_code} belongs to another customer", "check the order code or the phone number")
                order_id = order.id
            if call_id and not self.complaints.call_exists(call_id):
                raise NotFound(f"no call with id {call_id}", "see 'cc call list'")
            now = self.now()
            due = rules.due_at(now, self.categories[key], Priority(priority), high_factor=cfg.high_priority_sla_factor,
                               low_factor=cfg.low_priority_sla_factor)
            complaint_id = self.complaints.insert({
                "customer_id": customer.id, "phone": phone, "category": key, "priority": priority,
                "status": ComplaintStatus.OPEN.value, "text": text.strip(), "order_id": order_id, "call_id": call_id,
                "due_at": iso(due), "created_by": actor.name, "created_at": iso(now), "updated_at": iso(now),
            })
            self.complaints.add_event(complaint_id, at=iso(now), actor=actor.name, kind="opened", from_status=None,
                                      to_status=ComplaintStatus.OPEN.value, text=text.strip())
        return self.get(complaint_id)

    def assign(self, complaint_id: int, user: str) -> Complaint:
        actor = self.require(Action.HANDLE_COMPLAINTS)
        with self.store.transaction():
            row = self._row(complaint_id)
            target = self.store.user(user)
            if target is None:
                raise NotFound(f"no user named '{user}'", "see 'cc user list'")
            if target["disabled"]:
                raise Refused(f"user '{user}' is disabled", "assign it to someone else")
            status = self._rule(complaint_id, "assign", rules.check_assign, row["status"])
            self._move(row, status, actor.name, "assigned", user, assignee=user)
        return self.get(complaint_id)

    def note(self, complaint_id: int, text: str) -> Complaint:
        actor = self.require(Action.HANDLE_COMPLAINTS)
        with self.store.transaction():
            row = self._row(complaint_id)
            self._rule(complaint_id, "add a note to", rules.check_note, row["status"], text)
            now = self.now_iso()
            self.complaints.add_event(row["id"], at=now, actor=actor.name, kind="note", from_status=None,
                                      to_status=None, text=text.strip())
            self.complaints.update(row["id"], row["status"], {"updated_at": now})
        return self.get(complaint_id)

    def escalate(self, complaint_id: int, *, reason: str = "escalated by hand") -> Complaint:
        actor = self.require(Action.ESCALATE_COMPLAINTS)
        with self.store.transaction():
            row = self._row(complaint_id)
            self._escalate(row, actor.name, reason)
        return self.get(complaint_id)

    def escalate_overdue(self) -> list[Complaint]:
        """For cron: every complaint past its deadline and not yet escalated is escalated, once."""
        actor = self.require(Action.ESCALATE_COMPLAINTS)
        done = []
        for complaint_id in self.complaints.overdue_ids(self.now_iso()):
            with self.store.transaction():
                row = self.complaints.get(complaint_id)
                if row is None or row["status"] not in ("open", "assigned") or row["due_at"] > self.now_iso():
                    continue  # moved on meanwhile
                self._escalate(row, actor.name, f"overdue: SLA deadline {row['due_at']} passed")
            done.append(complaint_id)
        return [self.get(i) for i in done]

    def close(self, complaint_id: int, resolution: str) -> Complaint:
        actor = self.require(Action.HANDLE_COMPLAINTS)
        cfg = self.config.complaints
        with self.store.transaction():
            row = self._row(complaint_id)
            self._rule(complaint_id, "close", rules.check_close, row["status"], resolution)
            sms_id = None
            if cfg.close_sms and self.sms is not None:
                category = self.categories.get(row["category"])
                try:
                    text = rules.render_close_sms(
                        cfg.close_template, brand=self.config.sms.brand, id=row["id"], resolution=resolution.strip(),
                        hotline=self.config.asterisk.hotline, category=category.label if category else row["category"],
                        name=row["customer_name"],
                    )
                except ValueError as exc:
                    raise ConfigError(str(exc), "fix complaints.close_template in the config file") from None
                sms_id = self.sms.enqueue(row["phone"], text, kind="notice", created_by=actor.name,
                                          idempotency_key=f"complaint-closed:{row['id']}")
            self._move(row, ComplaintStatus.CLOSED, actor.name, "closed", resolution.strip(),
                       closed_at=self.now_iso(), resolution=resolution.strip(), close_sms_id=sms_id)
        return self.get(complaint_id)

    # --- helpers ------------------------------------------------------------------------------------
    def _row(self, complaint_id: int) -> dict:
        row = self.complaints.get(int(complaint_id))
        if row is None:
            raise NotFound(f"no complaint with id {complaint_id}", "see 'cc complaint list'")
        return row

    @staticmethod
    def _rule(complaint_id: int, verb: str, check: Any, *args: Any) -> Any:
        try:
            return check(*args)
        except ComplaintRuleError as exc:
            raise Refused(f"cannot {verb} complaint {complaint_id}: {exc}", "see 'cc complaint show ID' for its timeline") from None

    def _escalate(self, row: dict, actor: str, reason: str) -> None:
        status = self._rule(row["id"], "escalate", rules.check_escalate, row["status"])
        target = self.config.complaints.escalate_to
        fields = {"escalated_at": self.now_iso()}
        if target:
            fields["assignee"] = target
            reason = f"{reason}; reassigned to {target}"
        self._move(row, status, actor, "escalated", reason, **fields)

    def _move(self, row: dict, status: ComplaintStatus, actor: str, kind: str, text: str, **fields: Any) -> None:
        now = self.now_iso()
        if not self.complaints.update(row["id"], row["status"], {"status": status.value, "updated_at": now, **fields}):
            raise Refused(f"complaint {row['id']} changed meanwhile", "look at it again: cc complaint show ID")
        self.complaints.add_event(row["id"], at=now, actor=actor, kind=kind, from_status=row["status"],
                                  to_status=status.value, text=text)
