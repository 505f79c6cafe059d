"""Shared by the SMS tests: a fake modem port, a world with a customer and a product, and bounded waits."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from datetime import datetime, timezone

from cc.clock import FrozenClock
from cc.config import Config, ModemConfig
from cc.errors import Unreachable
from cc.gsm.types import IncomingSms, ModemDown, ModemHealth, SentPart, StatusReport

PHONE = "+8613800138000"
OTHER = "+8613900139000"


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class FakePort:
    """A GsmModemPort in memory: records sends, hands out references, can fail on demand."""

    _refs = itertools.count(1)

    def __init__(self, modem: ModemConfig | None = None, *, stored: list[IncomingSms] | None = None) -> None:
        self.device = modem.device if modem else "/dev/fake"
        self.queue: queue.Queue = queue.Queue()
        self.stored: list[IncomingSms] = list(stored or [])
        self.sent: list[tuple[str, str]] = []
        self.deleted: list[IncomingSms] = []
        self.fail_next: list[Exception] = []  # raised by the next sends, in order
        self.connect_failures = 0
        self.connected = False
        self.connects = 0
        self.lock = threading.Lock()

    def connect(self) -> None:
        if self.connect_failures > 0:
            self.connect_failures -= 1
            raise Unreachable(f"no answer on {self.device}", "check the cable")
        self.connects += 1
        self.connected = True

    def close(self) -> None:
        self.connected = False

    send_delay = 0.0

    def send(self, phone: str, text: str, *, status_report: bool = True, timeout: float = 30) -> list[SentPart]:
        if self.send_delay:
            time.sleep(self.send_delay)  # the modem's own time per message
        with self.lock:
            if self.fail_next:
                raise self.fail_next.pop(0)
            self.sent.append((phone, text))
            parts = 1 if len(text) <= 70 else -(-len(text) // 67)
            return [SentPart(next(self._refs) % 256, i + 1, parts) for i in range(parts)]

    def events(self) -> queue.Queue:
        return self.queue

    def stored_messages(self) -> list[IncomingSms]:
        return list(self.stored)

    def delete_stored(self, sms: IncomingSms) -> None:
        self.deleted.append(sms)
        if sms in self.stored:
            self.stored.remove(sms)

    def health(self) -> ModemHealth:
        return ModemHealth(signal=20, registered=True, operator="CHINA MOBILE", imei="861234567890123", model="FAKE")

    # test side
    def deliver(self, sender: str, text: str, at: datetime | None = None) -> IncomingSms:
        sms = IncomingSms(sender=sender, text=text, received_at=at or datetime.now(timezone.utc), parts=1, storage_refs=())
        self.queue.put(sms)
        return sms

    def report(self, reference: int, recipient: str, delivered: bool = True, code: int = 0) -> None:
        self.queue.put(StatusReport(reference, recipient, delivered, code, datetime.now(timezone.utc)))

    def unplug(self) -> None:
        self.queue.put(ModemDown(self.device, "unplugged", datetime.now(timezone.utc)))


def make_config(tmp_path, **sms) -> Config:  # noqa: ANN001
    config = Config(db=str(tmp_path / "cc.db"))
    config.sms.quiet_hours = None
    config.sms.retry_backoff_seconds = 0.0
    config.sms.expire_every_seconds = 0.2
    for key, value in sms.items():
        setattr(config.sms, key, value)
    return config


def make_world(config: Config, clock: FrozenClock | None = None, *, balance_fen: int = 100_000):  # noqa: ANN201
    """A fresh database with one customer (PHONE), money on the account, a product in stock."""
    from cc.services.container import build_services

    services = build_services(config, clock=clock or FrozenClock())
    services.catalog.add_product("MILK", name="鲜牛奶", price_fen=500)
    services.catalog.set_stock("MILK", 100_000)
    services.customers.add(phone=PHONE, name="张三")
    if balance_fen:
        services.accounts.topup(PHONE, balance_fen)
    return services


def new_order(services, phone: str = PHONE, deliveries: int = 30, quantity: int = 1):  # noqa: ANN001, ANN201
    return services.orders.new(phone=phone, items=[("MILK", quantity)], deliveries=deliveries)
