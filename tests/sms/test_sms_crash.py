"""Crash test: SIGKILL the gateway daemon at random moments during a batch of 200+ outgoing and 50 incoming
messages, 20+ times. Nothing is lost, a duplicate send happens at most once per crash and is recorded,
every incoming SMS is stored exactly once, and no order is charged twice."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sms_helpers import make_config, wait_for
from spool_port import drop_sms, network_log

from cc.clock import SystemClock
from cc.services.container import build_services
from cc.store.db import rows, scalar

HERE = Path(__file__).parent
CUSTOMERS = 50
MANUAL = 160
KILLS = 22


def _start(db: str, spool: Path, log) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen(
        [sys.executable, str(HERE / "crash_daemon.py"), db, str(spool), "0.012"],
        stdout=subprocess.PIPE, stderr=log, cwd=HERE,
    )


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == b"ready", f"daemon did not start (rc={proc.poll()})"


@pytest.mark.timeout(120)
def test_sigkill_at_random_moments_loses_nothing(tmp_path) -> None:
    rng = random.Random(int(os.environ.get("CC_CRASH_SEED", "7")))
    config = make_config(tmp_path)
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
        world.sms.send(phones[i % CUSTOMERS], f"批量通知 {i} " + "长" * (i % 90))
    total_out = CUSTOMERS + MANUAL
    spool = tmp_path / "spool"
    base = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    replies = [(f"in{i:03d}", phones[i], "Y" if i % 5 else "确认", base + timedelta(seconds=i)) for i in range(CUSTOMERS)]
    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115

    kills = kills_mid_batch = 0
    for cycle in range(KILLS):
        for name, phone, text, at in replies[cycle * 3: cycle * 3 + 3]:  # replies trickle in during the batch
            drop_sms(spool, name, phone, text, at)
        proc = _start(config.db, spool, log)
        _wait_ready(proc)
        time.sleep(rng.uniform(0.05, 0.35))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        busy = scalar(world.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')")
        kills_mid_batch += busy > 0
    for name, phone, text, at in replies[KILLS * 3:]:
        drop_sms(spool, name, phone, text, at)

    # A last run finishes the work and stops cleanly on SIGTERM.
    proc = _start(config.db, spool, log)
    _wait_ready(proc)
    done = lambda: (  # noqa: E731
        scalar(world.db, "SELECT count(*) FROM sms_outbox WHERE status IN ('queued', 'sending')") == 0
        and scalar(world.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'") == CUSTOMERS
        and not list((spool / "sim").glob("*.json"))
    )
    wait_for(done, timeout=40, what="the batch to finish")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    log.close()

    outbox = rows(world.db, "SELECT * FROM sms_outbox")
    assert len(outbox) >= total_out + CUSTOMERS  # confirmations, manual, and one answer per reply
    assert all(r["status"] in ("sent", "delivered") for r in outbox), collections.Counter(r["status"] for r in outbox)

    # Every message reached the network; extra copies only where a crash interrupted a send, and recorded.
    sent = collections.Counter(network_log(spool))
    interrupted = {
        r["outbox_id"]: r["n"]
        for r in rows(world.db, "SELECT outbox_id, count(*) AS n FROM sms_attempts WHERE outcome = 'interrupted' GROUP BY outbox_id")
    }
    duplicates = 0
    for row in outbox:
        copies = sent[(row["phone"], row["text"])]
        assert copies >= 1, f"SMS {row['id']} never reached the network"
        assert copies - 1 <= interrupted.get(row["id"], 0), f"SMS {row['id']} sent {copies} times, unrecorded"
        duplicates += copies - 1
    assert duplicates <= kills
    assert kills_mid_batch >= KILLS // 2, f"only {kills_mid_batch} kills landed while messages were waiting"
    print(f"kills {kills} (mid-batch {kills_mid_batch}), interrupted sends {sum(interrupted.values())}, duplicates {duplicates}")
    assert sum(sent.values()) == len(outbox) + duplicates  # nothing sent that is not in the outbox

    # Incoming: each stored exactly once and answered; each order charged exactly once.
    inbox = rows(world.db, "SELECT * FROM sms_inbox")
    assert len(inbox) == CUSTOMERS and len({r["dedupe_key"] for r in inbox}) == CUSTOMERS
    charges = rows(world.db, "SELECT order_id, count(*) AS n FROM ledger WHERE kind = 'charge' GROUP BY order_id")
    assert len(charges) == CUSTOMERS and all(r["n"] == 1 for r in charges)
    for order in orders:
        assert world.orders.get(order.code).status in ("charged", "sent_to_dairy")
    assert scalar(world.db, "SELECT count(*) FROM dairy_outbox") == CUSTOMERS
