"""The crash test again with everything real: ``cc sms serve`` (python-gsmmodem-new over a pty) against the
modem simulator, SIGKILLed at random moments 20+ times during 200+ outgoing and 50 incoming messages.
The simulator lives in the test process, so it is the network: it records what really went out, and keeps
SMS that arrive while the daemon is dead on its SIM."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sms_helpers import make_config, wait_for

from cc.clock import SystemClock
from cc.gsm.simulator import ModemSimulator
from cc.services.container import build_services
from cc.store.db import rows, scalar

CUSTOMERS = 50
MANUAL = 160
KILLS = 20


@pytest.mark.timeout(150)
def test_sigkill_real_daemon_over_the_simulator(tmp_path) -> None:
    rng = random.Random(int(os.environ.get("CC_CRASH_SEED", "11")))
    sim = ModemSimulator(link=tmp_path / "modem0", delay=0.004).start()
    config = make_config(tmp_path, max_attempts=1000, heartbeat_seconds=1)
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(
        f"db: {config.db}\nsms:\n  quiet_hours: null\n  retry_backoff_seconds: 0\n  max_attempts: 1000\n"
        f"  heartbeat_seconds: 1\n  reconnect_max_seconds: 1\n"
        f"dairy:\n  drop_dir: {tmp_path / 'dairy'}\ngsm:\n  modems:\n    - {{device: {sim.device_path}, name: m0}}\n",
        encoding="utf-8",
    )
    world = build_services(config, clock=SystemClock())
    world.catalog.add_product("MILK", name="鲜牛奶", price_fen=500)
    world.catalog.set_stock("MILK", 1_000_000)
    phones = [f"+861380013{i:04d}" for i in range(CUSTOMERS)]
    orders = []
    for phone in phones:
        world.customers.add(phone=phone, name=f"客户{phone[-4:]}")
        world.accounts.topup(phone, 100_000)
        orders.append(world.orders.new(phone=phone, items=[("MILK", 1)], deliveries=10))
    for i in range(MANUAL):
        world.sms.send(phones[i % CUSTOMERS], f"通知 {i}" + "长" * (i % 80))
    log = open(tmp_path / "daemon.log", "ab")  # noqa: SIM115
    env = {**os.environ, "CC_DB": ""}

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "cc", "--config", str(cfg), "sms", "serve", "-v"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_modems WHERE pid = ? AND state = 'connected'",
                                (proc.pid,)) or proc.poll() is not None, timeout=30, what="the daemon to connect")
        assert proc.poll() is None, "the daemon exited"
        return proc

    try:
        kills = mid_batch = 0
        for cycle in range(KILLS):
            proc = start()
            for phone in phones[cycle * 2: cycle * 2 + 2]:  # replies trickle in, some while nobody listens
                sim.deliver(phone, "Y")
            time.sleep(rng.uniform(0.05, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            mid_batch += scalar(world.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')") > 0
            if cycle % 2:
                sim.deliver(phones[KILLS * 2 + cycle // 2], "确认")  # arrives while the daemon is dead
        for phone in phones[KILLS * 2 + KILLS // 2:]:
            sim.deliver(phone, "Y")
        proc = start()
        wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')") == 0
                 and scalar(world.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'") == CUSTOMERS,
                 timeout=60, what="the batch to finish")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        log.close()
        sim.stop()

    outbox = rows(world.db, "SELECT * FROM sms_outbox")
    assert all(r["status"] in ("sent", "delivered") for r in outbox), collections.Counter(r["status"] for r in outbox)
    sent = collections.Counter((m.to, m.text) for m in sim.sent_messages())
    interrupted = {r["outbox_id"]: r["n"] for r in rows(
        world.db, "SELECT outbox_id, count(*) AS n FROM sms_attempts WHERE outcome = 'interrupted' GROUP BY outbox_id")}
    duplicates = 0
    for row in outbox:
        copies = sent[(row["phone"], row["text"])]
        assert copies >= 1, f"SMS {row['id']} never reached the network"
        assert copies - 1 <= interrupted.get(row["id"], 0), f"SMS {row['id']} sent {copies} times, unrecorded"
        duplicates += copies - 1
    assert duplicates <= kills and mid_batch >= KILLS // 2
    inbox = rows(world.db, "SELECT * FROM sms_inbox")
    assert len(inbox) == CUSTOMERS
    assert sorted(r["sender"] for r in inbox) == sorted(phones)
    charges = rows(world.db, "SELECT order_id, count(*) AS n FROM ledger WHERE kind = 'charge' GROUP BY order_id")
    assert len(charges) == CUSTOMERS and all(r["n"] == 1 for r in charges)
    assert {world.orders.get(o.code).status for o in orders} <= {"charged", "sent_to_dairy"}
    print(f"kills {kills} (mid-batch {mid_batch}), interrupted {sum(interrupted.values())}, duplicates {duplicates}")
