"""Fault tests: the gateway (in-process, real adapter, real pty) against each fault the simulator injects,
and against each modem personality. After each fault the daemon recovers and nothing is lost: the
outgoing message ends sent or delivered (at most one extra copy), every incoming SMS is stored once."""

from __future__ import annotations

import pytest
from sms_helpers import OTHER, PHONE, make_config, make_world, wait_for

from cc.clock import SystemClock
from cc.config import ModemConfig
from cc.gsm.modem import GsmModemAdapter
from cc.gsm.personalities import PERSONALITIES
from cc.gsm.simulator import ModemSimulator
from cc.services.container import build_services
from cc.services.sms_gateway import SmsGateway
from cc.store.db import rows, scalar

SERVICE = "10086"


@pytest.fixture
def rig(tmp_path):  # noqa: ANN001, ANN201
    made: list = []

    def start(personality: str = "generic", **sim_kw):  # noqa: ANN003, ANN202
        sim = ModemSimulator(personality, link=tmp_path / "modem0", **sim_kw).start()
        config = make_config(tmp_path, heartbeat_seconds=0.5, reconnect_max_seconds=1.0, reset_after_timeouts=2,
                             max_attempts=10)
        world = make_world(config, SystemClock())
        gateway = SmsGateway(
            config, modems=[ModemConfig(device=sim.device_path, name="m0")],
            make_sms=lambda: build_services(config, clock=SystemClock()).sms,
            make_port=lambda modem: GsmModemAdapter(modem, multipart_timeout=5), idle_wait=0.02, send_timeout=3,
        )
        made.append((gateway, sim, world))
        gateway.start()
        assert gateway.wait_connected(20), "did not connect"
        return world, sim, gateway

    yield start
    for gateway, sim, world in made:
        gateway.stop()
        assert gateway.join(20), "workers did not stop"
        sim.stop()
        world.close()


def _exchange(world, sim, tag: str) -> None:  # noqa: ANN001
    """One message each way; both must get through."""
    row = world.sms.send(OTHER, f"出 {tag}")
    wait_for(lambda: scalar(world.db, "SELECT status FROM sms_outbox WHERE id = ?", (row["id"],)) in ("sent", "delivered"),
             timeout=25, what=f"outgoing {tag}")
    # One at a time: the simulator's "split" fault cuts overlapping notifications into interleaved pieces,
    # which no real modem does. And a phone cannot reach an unplugged modem.
    wait_for(lambda: sim.plugged, timeout=10, what="the modem plugged in")
    wait_for(lambda: scalar(world.db, "SELECT status FROM sms_outbox WHERE id = ?", (row["id"],)) == "delivered",
             timeout=10, what=f"the delivery report of {tag}")
    sim.deliver(SERVICE, f"入 {tag}")  # from a service number: stored, never answered (no extra traffic)
    wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_inbox WHERE text = ?", (f"入 {tag}",)) == 1,
             timeout=25, what=f"incoming {tag}")
    copies = [m for m in sim.sent_messages() if m.text == f"出 {tag}"]
    assert 1 <= len(copies) <= 2, f"{len(copies)} copies of {tag}"


FAULTS = [
    ("garbage", {}),
    ("bad_byte", {}),
    ("error", {"command": "AT+CMGS"}),
    ("cms_error", {"code": 500, "count": 2}),
    ("split", {"count": 3}),
    ("slow_send", {"seconds": 1.0}),
    ("silence", {"seconds": 4}),
    ("unplug", {"replug_after": 1.0}),
]


@pytest.mark.parametrize(("kind", "args"), FAULTS, ids=[f[0] for f in FAULTS])
def test_recovers_from_fault(rig, kind: str, args: dict) -> None:
    world, sim, gateway = rig()
    _exchange(world, sim, "before")
    sim.fault(kind, **args)
    _exchange(world, sim, "during")
    sim.fault("clear")
    _exchange(world, sim, "after")
    inbox = rows(world.db, "SELECT text FROM sms_inbox ORDER BY id")
    assert sorted(r["text"] for r in inbox) == sorted(["入 before", "入 during", "入 after"])


def test_burst_of_notifications_each_stored_once(rig) -> None:
    world, sim, gateway = rig()
    sim.fault("burst", count=6, sender=PHONE, text="连发")
    wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_inbox") == 6, timeout=20, what="six stored")
    assert sorted(r["text"] for r in rows(world.db, "SELECT text FROM sms_inbox")) == sorted(f"连发 {i}" for i in range(1, 7))


@pytest.mark.parametrize("personality", sorted(PERSONALITIES))
def test_personalities(rig, personality: str) -> None:
    world, sim, gateway = rig(personality)
    _exchange(world, sim, personality)
    row = world.sms.send(OTHER, "长" * 100)
    wait_for(lambda: scalar(world.db, "SELECT status FROM sms_outbox WHERE id = ?", (row["id"],)) == "delivered",
             timeout=20, what="multipart delivered")
