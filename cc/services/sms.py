"""SMS use cases: queue messages (confirmations from the order pipeline, answers, manual sends), the
steps a modem worker takes (claim, record a send, a failure, a status report, store and handle an incoming
SMS), confirm-by-reply, and what ``cc sms outbox|inbox|status|retry`` show.

The store is ``cc.store.sms.SmsStore`` (passed in); the order and customer services are those of the same
container, so a reply is stored, the order confirmed and charged, and the answer queued on one connection
in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cc.clock import Clock
from cc.config import Config
from cc.domain import sms as rules
from cc.domain.sms_reply import Intent, parse_reply
from cc.domain.timestamps import iso
from cc.errors import CcError, ConfigError, NotFound, Refused, UsageError

log = logging.getLogger("cc.sms")

# What the customer reads. SMS go to the dairy's customers, so Chinese; kept here in one place.
ANSWERS = {
    "confirmed": "【{brand}】订单{code}已确认，已扣款¥{total}，我们将按时配送。",
    "rejected": "【{brand}】订单{code}已取消，未扣款。",
    "already_confirmed": "【{brand}】订单{code}已经确认过了，无需再次回复。",
    "already_rejected": "【{brand}】订单{code}已取消。如需订购请致电{hotline}。",
    "expired": "【{brand}】订单{code}已超时未确认，已自动取消，未扣款。如需订购请致电{hotline}。",
    "not_confirmed": "【{brand}】订单{code}未能确认：{reason}。请致电{hotline}。",
    "clarify": "【{brand}】您有多个待确认订单（{codes}），请回复“Y+订单号”确认或“N+订单号”取消，例如：Y{first}",
    "help": "【{brand}】未能识别您的回复。订单{code}：回复Y确认，回复N取消。",
    "no_pending": "【{brand}】您目前没有待确认的订单。如需订购请致电{hotline}。",
    "unknown_code": "【{brand}】未找到您的待确认订单{code}。请核对订单号，或致电{hotline}。",
    "unknown_sender": "【{brand}】本号码仅用于订单确认，未找到您的客户资料。如需订购请致电{hotline}。",
    "opted_out": "【{brand}】您已退订营销短信，订单确认短信不受影响。",
    "expiry_notice": "【{brand}】订单{code}已超时未确认，已自动取消，未扣款。如需订购请致电{hotline}。",
}
# The order could not be charged when the customer said yes: why, in the customer's words.
NOT_CHARGED = {
    "payment_failed": "账户余额不足，请充值后重新订购",
    "out_of_stock": "商品库存不足",
}
ANSWERS_PER_HOUR = 3
REPORT_MATCH_DAYS = 3  # message references wrap at 256: a report only matches a part sent this recently  # auto-answers to one number per hour at most: no ping-pong with an auto-responder


class OrdersPort(Protocol):
    def confirm(self, code: str, *, actor: str, via: str) -> Any: ...
    def reject(self, code: str, *, actor: str, via: str) -> Any: ...
    def pending_for_phone(self, phone: str) -> list[Any]: ...
    def expire_due(self) -> list[Any]: ...


class CustomersPort(Protocol):
    def find_by_phone(self, phone: str) -> Any: ...
    def set_opt_out(self, phone: str, opt_out: bool) -> Any: ...


@dataclass(frozen=True)
class Claimed:
    id: int
    attempt_id: int
    phone: str
    text: str
    kind: str
    attempts: int
    max_attempts: int
    interrupted: int  # earlier attempts found without an outcome (possible duplicates)


@dataclass(frozen=True)
class HandledReply:
    inbox_id: int
    intent: str
    outcome: str
    order_code: str | None
    answer_id: int | None


def _normalize_phone(text: str) -> str:
    from cc.phone import normalize_phone

    return normalize_phone(text)


class SmsService:
    def __init__(
        self, store: Any, clock: Clock, config: Config, *, orders: OrdersPort | None = None,
        customers: CustomersPort | None = None, acting_user: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.orders = orders
        self.customers = customers
        self.acting_user = acting_user
        self.deliver_now = True  # the gateway sets False: its housekeeper hands confirmed orders to the dairy
        self._zone = ZoneInfo(config.timezone)
        self._check_config()

    def _check_config(self) -> None:
        """A bad send window or template fails at start (exit 2, the key named), not at 21:00 or mid-order."""
        sms = self.config.sms
        where = self.config.source or "config"
        try:
            rules.parse_window(sms.quiet_hours)
        except ValueError:
            raise ConfigError(f"{where}: sms.quiet_hours {sms.quiet_hours!r} is not a time window",
                              "write it as HH:MM-HH:MM, e.g. 21:00-08:00, or null for none") from None
        try:
            rules.render_confirmation(sms.confirm_template, brand=sms.brand, code="123456", lines=[("鲜牛奶", 1)],
                                      frequency="daily", deliveries=30, total_fen=15000)
        except (ValueError, IndexError, AttributeError, KeyError) as exc:
            raise ConfigError(f"{where}: sms.confirm_template cannot be filled in: {exc}",
                              "use the fields {brand} {code} {items} {plan} {total}; write {{ and }} for braces") from None

    # --- queueing ---------------------------------------------------------------------------------
    def _now(self) -> str:
        return iso(self.clock.now())

    def enqueue(
        self, phone: str, text: str, *, kind: str = "manual", order_id: int | None = None,
        idempotency_key: str | None = None, created_by: str = "",
    ) -> int:
        if kind not in rules.PRIORITY:
            raise UsageError(f"unknown SMS kind {kind!r}", f"use one of: {', '.join(rules.KINDS)}")
        if not text or not text.strip():
            raise UsageError("the message text is empty", "give the text to send")
        return self.store.enqueue(
            phone=phone, text=rules.clean_text(text), kind=kind, priority=rules.PRIORITY[kind],
            max_attempts=self.config.sms.max_attempts, now=self._now(), order_id=order_id,
            created_by=created_by, idempotency_key=idempotency_key,
        )

    def send(self, phone: str, text: str, *, kind: str = "manual") -> dict:
        """Queue a message for the daemon (``cc sms send``); returns the outbox row."""
        phone = _normalize_phone(phone)
        refusal = self._marketing_refusal(phone) if kind == "marketing" else None
        if refusal:
            raise Refused(f"{phone} {refusal}", "order confirmations still reach them")
        with self.store.transaction():
            outbox_id = self.enqueue(phone, text, kind=kind, created_by=self.acting_user or "operator")
        return self.store.outbox_row(outbox_id)

    def _marketing_refusal(self, phone: str) -> str | None:
        """Why marketing must not reach this number now (opted out, blacklisted), or None."""
        customer = self.customers.find_by_phone(phone) if self.customers is not None else None
        if customer is None:
            return None
        if customer.opt_out:
            return "opted out of marketing SMS"
        if customer.is_blacklisted:
            return "is blacklisted"
        return None

    def confirmation_text(self, order: Any) -> str:
        sms = self.config.sms
        return rules.render_confirmation(
            sms.confirm_template, brand=sms.brand, code=order.code,
            lines=[(line.name, line.quantity) for line in order.lines], frequency=order.frequency,
            deliveries=order.deliveries, total_fen=order.total_fen,
        )

    def on_awaiting_confirmation(self, order: Any, amended: bool = True) -> int:
        """Hook for the order service: called INSIDE its transaction (same connection) when an order enters
        awaiting_confirmation, new or amended. Queues the confirmation SMS at the highest priority; an earlier
        confirmation of the same order that has not gone out yet is dropped (it shows the old items). A
        brand-new order (``amended=False``, the order service's entry) has none: no statement for it."""
        if amended:
            self.store.supersede_confirmations(order.id, self._now())
        return self.enqueue(
            order.phone, self.confirmation_text(order), kind="confirmation", order_id=order.id,
            created_by="orders",
        )

    def retry(self, outbox_id: int) -> dict:
        """Send a failed message again (``cc sms retry ID``): back to queued, with a fresh set of attempts."""
        row = self.store.outbox_row(outbox_id)
        if row is None:
            raise NotFound(f"no SMS with id {outbox_id} in the outbox", "see 'cc sms outbox'")
        if row["status"] != "failed":
            raise Refused(f"SMS {outbox_id} is {row['status']}, not failed", "only failed messages can be retried")
        return self.store.requeue_failed(outbox_id, self._now())

    # --- what a worker does -----------------------------------------------------------------------
    def marketing_allowed(self) -> bool:
        return not rules.in_quiet_hours(self.clock.now().astimezone(self._zone), self.config.sms.quiet_hours)

    def release_leases(self, modem: str) -> int:
        """On worker start: messages this modem was sending when its last run died become claimable now."""
        return self.store.release_leases(modem, self._now())

    def release_inbox_leases(self) -> int:
        """At daemon start: replies a killed run was acting on are taken up again (at worst one extra answer
        SMS; the order service refuses a second charge)."""
        return self.store.release_inbox_leases()

    def claim_next(self, modem: str) -> Claimed | None:
        while True:
            now = self.clock.now()
            row = self.store.claim(
                owner=modem, now=iso(now), lease_until=iso(rules.lease_until(now, self.config.sms.lease_seconds)),
                allow_marketing=self.marketing_allowed(),
            )
            if row is None:
                return None
            if row["interrupted"]:
                log.warning("SMS %s: a previous attempt was interrupted; sending again (possible duplicate)", row["id"])
            if row["attempts"] > row["max_attempts"]:
                self.store.fail_exhausted(
                    row["id"], row["attempt_id"], f"gave up after {row['attempts'] - 1} attempts", iso(now)
                )
                continue
            # Marketing queued by a campaign may wait hours (quiet hours, rate limits): the customer may have
            # opted out or been blacklisted since, so look again just before it goes out.
            refusal = self._marketing_refusal(row["phone"]) if row["kind"] == "marketing" else None
            if refusal:
                self.store.fail_exhausted(row["id"], row["attempt_id"], f"not sent: the customer {refusal}", iso(now))
                continue
            return Claimed(
                id=row["id"], attempt_id=row["attempt_id"], phone=row["phone"], text=row["text"], kind=row["kind"],
                attempts=row["attempts"], max_attempts=row["max_attempts"], interrupted=row["interrupted"],
            )

    def record_sent(self, modem: str, claimed: Claimed, parts: list[Any]) -> bool:
        triples = [(int(p.reference), int(p.part_no), int(p.parts)) for p in parts]
        return self.store.finish_sent(
            outbox_id=claimed.id, attempt_id=claimed.attempt_id, owner=modem, parts=triples, now=self._now()
        )

    def record_send_error(
        self, modem: str, claimed: Claimed, error: str, *, destination_fault: bool = True, permanent: bool = False
    ) -> str:
        """A send failed: retry later with backoff, or fail for good after max_attempts (or at once when the
        network said it is permanent). A failure that is the destination's (not the modem's) counts towards
        setting that destination aside."""
        now = self.clock.now()
        sms = self.config.sms
        retry_at = None
        if claimed.attempts < claimed.max_attempts and not permanent:
            retry_at = iso(now + timedelta(seconds=rules.retry_delay(claimed.attempts, sms.retry_backoff_seconds)))
        reason = error if retry_at or permanent else f"{error} (gave up after {claimed.attempts} attempts)"

        def hold_until(failures: int) -> str | None:
            seconds = rules.hold_seconds(failures, sms.retry_backoff_seconds)
            return iso(now + timedelta(seconds=seconds)) if seconds else None

        return self.store.finish_failed(
            outbox_id=claimed.id, attempt_id=claimed.attempt_id, owner=modem, error=reason, now=iso(now),
            retry_at=retry_at, hold_base_seconds=sms.retry_backoff_seconds, hold_until_fn=hold_until,
            count_against_destination=destination_fault,
        )

    def record_report(self, modem: str, report: Any) -> dict | None:
        code = int(report.status_code)
        final = getattr(report, "final", None)
        if final is None:
            final = bool(report.delivered) or not (0x20 <= code < 0x40)  # 0x20-0x3F: SMSC still trying
        return self.store.record_report(
            modem=modem, reference=int(report.reference), recipient=str(report.recipient or ""),
            delivered=bool(report.delivered), status_code=code,
            at=iso(report.at) if getattr(report, "at", None) and report.at.tzinfo else None,
            now=self._now(), final=bool(final), since=iso(self.clock.now() - timedelta(days=REPORT_MATCH_DAYS)),
        )

    def store_incoming(self, modem: str, sms: Any) -> int | None:
        """Commit an incoming SMS (once). Only after this returns may it be deleted from the SIM."""
        text = rules.clean_text(sms.text)
        raw_sender = str(sms.sender or "")
        received = sms.received_at
        fingerprint = getattr(sms, "fingerprint", None)  # cc.gsm's identity of a message, when it has one
        key = (fingerprint() if callable(fingerprint) else fingerprint) or rules.dedupe_key(raw_sender, received, text)
        try:
            sender = _normalize_phone(raw_sender)  # stored as customers are: E.164
        except CcError:
            sender = raw_sender  # a short code or a name (10086, "CMCC"): kept as the network gave it
        with self.store.transaction():
            inbox_id = self.store.insert_incoming(
                modem=modem, sender=sender, text=text,
                received_at=iso(received) if received is not None and received.tzinfo else (received.isoformat() if received else None),
                parts=int(getattr(sms, "parts", 1) or 1), dedupe_key=key, now=self._now(),
            )
        return inbox_id

    def handle_pending_inbox(self, limit: int = 100) -> list[HandledReply]:
        return [r for r in (self.handle_incoming(i) for i in self.store.unhandled_inbox_ids(limit)) if r is not None]

    def handle_incoming(self, inbox_id: int) -> HandledReply | None:
        """Act on a stored SMS once: claim it, confirm/reject the order through the order service (which
        charges it and writes the dairy outbox in its own transaction), then queue the answer and mark the
        SMS handled. A crash in between leaves it 'new': the next run finds the order no longer pending and
        answers accordingly, so nothing is charged twice."""
        now = self.clock.now()
        if not self.store.claim_inbox(inbox_id, iso(now), iso(now + timedelta(seconds=self.config.sms.lease_seconds))):
            return None
        row = self.store.inbox_row(inbox_id)
        if row is None or row["status"] != "new":
            return None
        parsed = parse_reply(row["text"])
        outcome, code, answer_key, fields = self._decide(row["sender"], parsed)
        answer_id = None
        with self.store.transaction():
            phone = fields.get("phone")
            if answer_key and phone and self._may_answer(phone):
                values = {"brand": self.config.sms.brand, "hotline": self.config.asterisk.hotline, **fields}
                answer_id = self.enqueue(phone, ANSWERS[answer_key].format(**values), kind="reply", created_by="sms")
            self.store.mark_handled(
                inbox_id, intent=parsed.intent.value, outcome=outcome, order_code=code, answer_id=answer_id,
                now=self._now(),
            )
        log.info("SMS %s from %s: %s -> %s %s", inbox_id, row["sender"], parsed.intent.value, outcome, code or "")
        return HandledReply(inbox_id, parsed.intent.value, outcome, code, answer_id)

    def _may_answer(self, phone: str) -> bool:
        since = iso(self.clock.now() - timedelta(hours=1))
        return self.store.auto_answers_since(phone, since) < ANSWERS_PER_HOUR

    def _decide(self, sender: str, parsed: Any) -> tuple[str, str | None, str | None, dict]:
        """(outcome, order code, answer key, answer fields) for a reply; performs the confirm/reject."""
        try:
            phone = _normalize_phone(sender)
        except CcError:
            return "invalid_sender", None, None, {}  # a short code or a name: never answered
        customer = self.customers.find_by_phone(phone) if self.customers else None
        if customer is None:
            return "unknown_sender", parsed.code, "unknown_sender", {"phone": phone}
        base = {"phone": phone}
        if parsed.intent == Intent.OPT_OUT:
            self.customers.set_opt_out(phone, True)
            return "opted_out", None, "opted_out", base
        pending = list(self.orders.pending_for_phone(phone)) if self.orders else []
        if parsed.intent in (Intent.UNKNOWN, Intent.EMPTY):
            if pending:
                return "garbled", None, "help", {**base, "code": pending[0].code}
            return "garbled", None, "no_pending", base
        # confirm or reject
        if parsed.code:
            order = next((o for o in pending if o.code == parsed.code), None)
            if order is None:
                return self._not_pending(customer.id, parsed.code, parsed.intent, base, unknown="unknown_code")
        elif len(pending) == 1:
            order = pending[0]
        elif len(pending) > 1:
            codes = [o.code for o in pending]
            return "clarify", None, "clarify", {**base, "codes": "、".join(codes), "first": codes[0]}
        else:
            latest = self.store.latest_order_of_customer(customer.id)
            if latest is None:
                return "no_pending", None, "no_pending", base
            return self._not_pending(customer.id, latest["code"], parsed.intent, base, unknown="no_pending")
        return self._act(order, parsed.intent, phone, base)

    def _act(self, order: Any, intent: Intent, phone: str, base: dict) -> tuple[str, str | None, str | None, dict]:
        fields = {**base, "code": order.code, "total": rules.fen_text(order.total_fen)}
        try:
            if intent == Intent.CONFIRM:
                # The charge and the dairy outbox row are written now; the hand-off itself is the gateway's
                # housekeeper's job (deliver_to_dairy), so a slow dairy endpoint never stalls a modem.
                done = self.orders.confirm(order.code, actor=f"sms:{phone}", via="sms", deliver_now=self.deliver_now)
                fields["total"] = rules.fen_text(getattr(done, "total_fen", order.total_fen))
                return "confirmed", order.code, "confirmed", fields
            self.orders.reject(order.code, actor=f"sms:{phone}", via="sms")
            return "rejected", order.code, "rejected", fields
        except (Refused, NotFound) as exc:
            latest = self.store.order_of_customer(order.customer_id, order.code)
            status = latest["status"] if latest else None
            if status in NOT_CHARGED:
                return status, order.code, "not_confirmed", {**fields, "reason": NOT_CHARGED[status]}
            if status != "awaiting_confirmation":
                return self._not_pending(order.customer_id, order.code, intent, base, unknown="no_pending")
            return "refused", order.code, "not_confirmed", {**fields, "reason": exc.message}

    def _not_pending(self, customer_id: int, code: str, intent: Intent, base: dict, *, unknown: str) -> tuple:
        """The reply names (or can only mean) an order that no longer waits: say why, change nothing."""
        order = self.store.order_of_customer(customer_id, code)
        fields = {**base, "code": code}
        if order is None:
            return "unknown_code", code, unknown, fields
        status = order["status"]
        if status == "expired":
            return "expired", code, "expired", fields
        if status in ("rejected", "cancelled"):
            return "duplicate" if intent == Intent.REJECT else "too_late", code, "already_rejected", fields
        if status in ("confirmed", "charged", "sent_to_dairy", "in_delivery", "completed"):
            return "duplicate" if intent == Intent.CONFIRM else "too_late", code, "already_confirmed", fields
        return "no_pending", code, "no_pending", fields

    # --- expiry -------------------------------------------------------------------------------------
    def expire_due(self) -> list[Any]:
        """Expire unanswered orders (daemon loop and ``cc order expire``); tells each customer by SMS."""
        if self.orders is None:
            return []
        expired = list(self.orders.expire_due())
        if expired and self.config.sms.expiry_notice:
            with self.store.transaction():
                for order in expired:
                    text = ANSWERS["expiry_notice"].format(
                        brand=self.config.sms.brand, code=order.code, hotline=self.config.asterisk.hotline
                    )
                    self.enqueue(order.phone, text, kind="notice", order_id=order.id, created_by="expiry",
                                 idempotency_key=f"expired:{order.id}")
        return expired

    def deliver_to_dairy(self) -> int:
        """Hand what is due in the dairy outbox to the dairy (the gateway's housekeeper, after each confirm)."""
        dairy = getattr(self.orders, "dairy", None)
        if dairy is None:
            return 0
        return sum(1 for attempt in dairy.deliver_due() if attempt.status == "sent")

    # --- health and views -------------------------------------------------------------------------
    def heartbeat(self, modem: str, **fields: Any) -> None:
        self.store.heartbeat(modem, self._now(), heartbeat_at=self._now(), **fields)

    def queue_depth(self) -> int:
        return self.store.queue_depth()

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[dict]:
        if status is not None and status not in rules.STATES:
            raise UsageError(f"unknown status {status!r}", f"use one of: {', '.join(rules.STATES)}")
        return self.store.outbox_rows(status=status, limit=limit)

    def show(self, outbox_id: int) -> dict:
        """One outgoing SMS with its attempts (interrupted ones are possible duplicates) and parts."""
        row = self.store.outbox_row(outbox_id)
        if row is None:
            raise NotFound(f"no SMS with id {outbox_id} in the outbox", "see 'cc sms outbox'")
        attempts = self.store.attempts_for(outbox_id)
        return {
            **row, "attempt_history": attempts, "parts": self.store.parts_for(outbox_id),
            "possible_duplicates": sum(1 for a in attempts if a["outcome"] == "interrupted"),
        }

    def inbox(self, *, limit: int = 100) -> list[dict]:
        return self.store.inbox_rows(limit=limit)

    def status(self) -> dict:
        """Modems (each with ``alive``: its worker wrote a heartbeat recently), outbox counts, held numbers."""
        now = self._now()
        fresh_since = iso(self.clock.now() - timedelta(seconds=max(3 * self.config.sms.heartbeat_seconds, 90)))
        modems = self.store.modems()
        for modem in modems:
            modem["alive"] = modem["state"] != "stopped" and (modem["heartbeat_at"] or "") >= fresh_since
        return {
            "modems": modems,
            "outbox": self.store.outbox_counts(),
            "queue_depth": self.store.queue_depth(),
            "held_destinations": self.store.holds(now),
            "marketing_allowed_now": self.marketing_allowed(),
        }
