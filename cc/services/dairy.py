"""The hand-off to the dairy: an outbox row is written with the charge; delivery happens after commit,
claimed with a lease, retried with backoff, each message carrying an idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cc.domain.orders import OrderStatus, OrderView
from cc.errors import NotFound
from cc.services.base import ServiceBase


class DairyLinkError(Exception):
    """The dairy did not take the message (folder not writable, HTTP error, timeout)."""


class DairyLink(Protocol):
    def deliver(self, message: dict) -> None:
        """Hand one message to the dairy; raise DairyLinkError when it did not arrive. Must be idempotent
        for the same ``message['idempotency_key']``."""
        ...


@dataclass(frozen=True)
class DeliveryAttempt:
    message_id: int
    order_code: str
    status: str  # sent | pending (will retry) | failed (gave up)
    error: str = ""


def dairy_payload(order: OrderView, kind: str) -> dict:
    return {
        "kind": kind,
        "order_code": order.code,
        "customer": {"name": order.customer_name, "phone": order.phone, "address": order.address, "zone": order.zone},
        "lines": [{"sku": l.sku, "name": l.name, "quantity": l.quantity, "price_fen": l.price_fen} for l in order.lines],
        "plan": {"start_date": order.start_date, "frequency": order.frequency, "deliveries": order.deliveries,
                 "end_date": order.end_date},
        "total_fen": order.total_fen,
    }


class DairyService(ServiceBase):
    def __init__(self, *args, link: DairyLink, **kwargs) -> None:  # noqa: ANN001
        super().__init__(*args, **kwargs)
        self.link = link

    def enqueue(self, order: OrderView, *, kind: str, now: str | None = None) -> None:
        """Inside the caller's transaction: the message exists iff the charge (or cancellation) does.
        ``now``: the caller's transaction time, when it has one."""
        payload = dairy_payload(order, kind)
        key = f"dairy:{kind}:{order.code}"
        payload["idempotency_key"] = key
        self.store.enqueue_dairy(order_id=order.id, kind=kind, key=key, payload=payload, now=now or self.now_iso())

    def deliver_due(self, *, order_id: int | None = None, limit: int = 1000) -> list[DeliveryAttempt]:
        """Send what is due (or only one order's messages). Safe to run from several processes at once."""
        import json

        attempts: list[DeliveryAttempt] = []
        settings = self.config.dairy
        for _ in range(limit):
            lease_until = self.later_iso(seconds=max(settings.timeout_seconds * 3, 30))
            message = self.store.claim_dairy(self.now_iso(), lease_until, order_id=order_id)
            if message is None:
                break
            payload = json.loads(message["payload"])
            try:
                self.link.deliver(payload)
            except DairyLinkError as exc:
                attempts.append(self._failed(message, payload["order_code"], str(exc)))
                continue
            with self.store.transaction():
                self.store.finish_dairy(message["id"], status="sent", now=self.now_iso())
                order = self.store.order_by_id(message["order_id"])
                if message["kind"] == "order" and order.status == OrderStatus.CHARGED:
                    self.store.set_order_status(order.id, OrderStatus.CHARGED, OrderStatus.SENT_TO_DAIRY, self.now_iso())
                    self.store.add_order_event(order.id, at=self.now_iso(), actor="dairy-link", from_status=order.status,
                                               to_status=OrderStatus.SENT_TO_DAIRY, reason=f"handed to the dairy ({message['idempotency_key']})")
            attempts.append(DeliveryAttempt(message["id"], payload["order_code"], "sent"))
        return attempts

    def outbox(self, statuses: list[str] = (), limit: int = 100) -> list[dict]:
        return self.store.dairy_messages(statuses, limit)

    def retry(self, message_id: int) -> None:
        with self.store.transaction():
            if self.store.dairy_message(message_id) is None:
                raise NotFound(f"no message {message_id} in the dairy outbox", "see 'cc dairy outbox'")
            self.store.finish_dairy(message_id, status="pending", now=self.now_iso(), next_attempt_at=self.now_iso())

    def _failed(self, message: dict, order_code: str, error: str) -> DeliveryAttempt:
        settings = self.config.dairy
        with self.store.transaction():
            if message["attempts"] >= settings.max_attempts:
                self.store.finish_dairy(message["id"], status="failed", now=self.now_iso(), error=error)
                status = "failed"
            else:
                delay = min(settings.backoff_seconds * 2 ** (message["attempts"] - 1), 3600)
                self.store.finish_dairy(message["id"], status="pending", now=self.now_iso(), error=error,
                                        next_attempt_at=self.later_iso(seconds=delay))
                status = "pending"
        return DeliveryAttempt(message["id"], order_code, status, error)
