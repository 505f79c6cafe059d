"""The daemon's workers over fake modem ports: threads, queues and a real SQLite file, no serial port."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import pytest
from sms_helpers import OTHER, PHONE, FakePort, make_config, make_world, new_order, wait_for

from cc.clock import FrozenClock
from cc.config import ModemConfig
from cc.errors import Unreachable
from cc.gsm.types import IncomingSms, SendRejected
from cc.services.container import build_services
from cc.services.sms_gateway import SmsGateway
from cc.store.db import scalar


@pytest.fixture
def setup(tmp_path):  # noqa: ANN001, ANN201
    clock = FrozenClock("2026-11-26T02:00:00+00:00")
    config = make_config(tmp_path)
    world = make_world(config, clock)
    gateways: list[SmsGateway] = []

    def start(ports: dict[str, FakePort], **kwargs) -> SmsGateway:  # noqa: ANN003
        modems = [ModemConfig(device=name) for name in ports]
        gateway = SmsGateway(
            config, modems=modems, make_sms=lambda: build_services(config, clock=clock).sms,
            make_port=lambda modem: ports[modem.device], idle_wait=0.02, **kwargs,
        )
        gateway.start()
        gateways.append(gateway)
        return gateway

    yield world, clock, start
    for gateway in gateways:
        gateway.stop()
        assert gateway.join(10), "workers did not stop"
    world.close()


def status_of(world, outbox_id: int) -> str:  # noqa: ANN001
    return scalar(world.db, "SELECT status FROM sms_outbox WHERE id = ?", (outbox_id,))


def test_order_confirmed_by_reply_through_the_daemon(setup) -> None:
    world, clock, start = setup
    port = FakePort()
    start({"m1": port})
    order = new_order(world)
    wait_for(lambda: port.sent, what="the confirmation SMS")
    assert order.code in port.sent[0][1]
    port.deliver(PHONE, "Y")
    wait_for(lambda: len(port.sent) == 2, what="the answer SMS")
    assert "已确认" in port.sent[1][1]
    assert world.orders.get(order.code).status in ("charged", "sent_to_dairy")
    assert scalar(world.db, "SELECT count(*) FROM ledger WHERE kind = 'charge'") == 1
    # the fake port records a send before the worker writes it down: wait for the bookkeeping
    modem = wait_for(lambda: next((m for m in world.sms.status()["modems"] if m["sent_count"] == 2), None),
                     what="the heartbeat row to count both sends")
    assert modem["state"] == "connected" and modem["received_count"] == 1
    assert modem["alive"] and modem["signal"] == 20 and modem["operator"] == "CHINA MOBILE"
    clock.advance(seconds=3600)  # an hour without a heartbeat: the worker is gone
    assert not world.sms.status()["modems"][0]["alive"]


def test_sim_messages_are_stored_before_deleted(setup) -> None:
    world, clock, start = setup
    new_order(world)
    stored = IncomingSms(PHONE, "Y", datetime(2026, 11, 26, 2, 1, tzinfo=timezone.utc), 1, (("SM", 3),))
    port = FakePort(stored=[stored])
    deleted_when_stored = []
    original = port.delete_stored

    def delete(sms):  # noqa: ANN001, ANN202
        conn = sqlite3.connect(world.config.db)  # the worker's thread: a connection of its own
        deleted_when_stored.append(conn.execute("SELECT count(*) FROM sms_inbox").fetchone()[0])
        conn.close()
        original(sms)

    port.delete_stored = delete
    start({"m1": port})
    wait_for(lambda: port.deleted, what="the SIM copy deleted")
    assert deleted_when_stored == [1]
    wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'") == 1, what="handled")


def test_delivery_reports_mark_delivered(setup) -> None:
    world, clock, start = setup
    port = FakePort()
    start({"m1": port})
    row = world.sms.send(OTHER, "hello")
    wait_for(lambda: status_of(world, row["id"]) == "sent", what="sent")
    (part,) = world.sms.store.parts_for(row["id"])
    port.report(part["reference"], OTHER)
    wait_for(lambda: status_of(world, row["id"]) == "delivered", what="delivered")


def test_reconnects_after_the_modem_goes_away(setup) -> None:
    world, clock, start = setup
    port = FakePort()
    port.connect_failures = 1
    start({"m1": port})
    wait_for(lambda: port.connects == 1, timeout=5, what="first connect after a failure")
    port.unplug()
    wait_for(lambda: port.connects == 2, timeout=10, what="reconnect")
    row = world.sms.send(OTHER, "after replug")
    wait_for(lambda: status_of(world, row["id"]) == "sent", what="sent after reconnect")
    assert world.sms.status()["modems"][0]["reconnects"] >= 1


def test_resets_after_repeated_timeouts_and_nothing_is_lost(setup) -> None:
    world, clock, start = setup
    world.config.sms.reset_after_timeouts = 2
    world.config.sms.max_attempts = 10
    port = FakePort()
    port.fail_next = [Unreachable("modem did not answer"), Unreachable("modem did not answer")]
    start({"m1": port})
    row = world.sms.send(OTHER, "persistent")
    wait_for(lambda: status_of(world, row["id"]) == "sent", timeout=10, what="sent after the reset")
    assert port.connects >= 2
    assert [a["outcome"] for a in world.sms.store.attempts_for(row["id"])] == ["error", "error", "sent"]


def test_rejected_sends_fail_with_a_reason(setup) -> None:
    world, clock, start = setup
    world.config.sms.max_attempts = 2
    port = FakePort()
    port.fail_next = [SendRejected("+CMS ERROR: 21", code=21)] * 2
    start({"m1": port})
    row = world.sms.send(OTHER, "doomed")
    wait_for(lambda: status_of(world, row["id"]) == "failed", what="failed")
    assert "+CMS ERROR: 21" in world.sms.store.outbox_row(row["id"])["reason"]


def test_several_modems_share_the_queue(setup) -> None:
    world, clock, start = setup
    ports = {"m1": FakePort(), "m2": FakePort()}
    for port in ports.values():
        port.send_delay = 0.005  # a modem takes a moment per message; meanwhile the other one works
    gateway = start(ports)
    assert gateway.wait_connected(10)
    for i in range(40):
        world.sms.send(OTHER, f"bulk {i}")
    wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_outbox WHERE status = 'sent'") == 40, what="all sent")
    sent = [text for port in ports.values() for _, text in port.sent]
    assert sorted(sent) == sorted(f"bulk {i}" for i in range(40))  # each exactly once
    assert all(port.sent for port in ports.values())


def test_expiry_runs_in_the_daemon(setup) -> None:
    world, clock, start = setup
    order = new_order(world)
    start({"m1": FakePort()})
    clock.advance(minutes=world.config.orders.confirmation_timeout_minutes + 1)
    wait_for(lambda: world.orders.get(order.code).status == "expired", what="expired by the housekeeper")


def test_rate_limit_per_modem(setup) -> None:
    world, clock, start = setup
    world.config.sms.rate_per_minute = 600  # one every 0.1 s
    port = FakePort()
    for i in range(6):
        world.sms.send(OTHER, f"paced {i}")
    started = time.monotonic()
    start({"m1": port})
    wait_for(lambda: len(port.sent) == 6, what="six sent")
    assert time.monotonic() - started >= 0.5


def test_stored_reply_is_handled_after_a_crash_between_storing_and_handling(setup) -> None:
    world, clock, start = setup
    order = new_order(world)
    sms = IncomingSms(PHONE, "Y", datetime(2026, 11, 26, 2, 1, tzinfo=timezone.utc), 1, ())
    world.sms.store_incoming("m1", sms)  # stored, then the daemon died before acting on it
    start({"m1": FakePort()})
    wait_for(lambda: world.orders.get(order.code).status in ("charged", "sent_to_dairy"), what="charged on restart")
