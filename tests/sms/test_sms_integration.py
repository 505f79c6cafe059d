"""The real daemon (``cc sms serve`` in its own process) and the real library over real ptys, against the
modem simulator: confirm by reply to sent_to_dairy, Chinese multipart both ways, delivery reports,
SIM contents at start, several modems, unplug and re-plug."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sms_helpers import OTHER, PHONE, wait_for

from cc.clock import SystemClock
from cc.config import load_config
from cc.gsm.simulator import ModemSimulator
from cc.services.container import build_services
from cc.store.db import rows, scalar

LONG_ZH = "尊敬的客户您好，" + "本周鲜牛奶配送时间调整为早上六点至七点，如有疑问请致电客服热线。" * 4


@pytest.fixture
def gateway(tmp_path):  # noqa: ANN001, ANN201
    """start(n_modems) -> (world, sims, proc); everything stopped at the end."""
    procs: list[subprocess.Popen] = []
    sims: list[ModemSimulator] = []
    opened: list = []  # the test's services and the daemon's log file, closed at the end

    def start(n: int = 1, *, stored: list[tuple[str, str]] = (), **sim_kw) -> tuple:  # noqa: ANN003
        for i in range(n):
            sims.append(ModemSimulator(link=tmp_path / f"modem{i}", **sim_kw).start())
        for sender, text in stored:
            sims[0].store(sender, text)
        modems = "\n".join(f"    - {{device: {s.device_path}, name: m{i}}}" for i, s in enumerate(sims))
        cfg = tmp_path / "cc.yaml"
        cfg.write_text(
            f"db: {tmp_path / 'cc.db'}\n"
            "sms:\n  quiet_hours: null\n  retry_backoff_seconds: 0\n  expire_every_seconds: 1\n  heartbeat_seconds: 1\n"
            f"dairy:\n  drop_dir: {tmp_path / 'dairy'}\n"
            f"gsm:\n  modems:\n{modems}\n",
            encoding="utf-8",
        )
        config = load_config(cfg)
        world = build_services(config, clock=SystemClock())
        opened.append(world)
        if not world.catalog.products():
            world.catalog.add_product("MILK", name="鲜牛奶", price_fen=500)
            world.catalog.set_stock("MILK", 100_000)
            world.customers.add(phone=PHONE, name="张三")
            world.accounts.topup(PHONE, 100_000)
        log = open(tmp_path / "daemon.log", "ab")  # noqa: SIM115
        opened.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "cc", "--config", str(cfg), "sms", "serve", "-v"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env={**os.environ, "CC_DB": ""},
        )
        procs.append(proc)
        wait_for(
            lambda: scalar(world.db, "SELECT count(*) FROM sms_modems WHERE state = 'connected'") == n or proc.poll() is not None,
            timeout=20, what="the daemon to connect its modems",
        )
        assert proc.poll() is None, (tmp_path / "daemon.log").read_text(errors="replace")
        return world, sims, proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                assert proc.wait(15) == 0, "the daemon did not exit cleanly on SIGTERM"
            finally:
                if proc.poll() is None:
                    proc.kill()
    for sim in sims:
        sim.stop()
    for thing in opened:
        thing.close()


def outbox_status(world, outbox_id: int) -> str:  # noqa: ANN001
    return scalar(world.db, "SELECT status FROM sms_outbox WHERE id = ?", (outbox_id,))


def test_order_goes_to_the_dairy_by_sms_reply(gateway) -> None:
    world, (sim,), proc = gateway(1)
    order = world.orders.new(phone=PHONE, items=[("MILK", 1)], deliveries=30)
    (confirmation,) = sim.wait_for_sent(1, timeout=10)
    assert confirmation.to == PHONE and order.code in confirmation.text and "回复Y确认" in confirmation.text
    sim.deliver(PHONE, f"Ｙ {order.code}")
    wait_for(lambda: world.orders.get(order.code).status == "sent_to_dairy", timeout=10, what="sent_to_dairy")
    assert scalar(world.db, "SELECT count(*) FROM ledger WHERE kind = 'charge' AND order_id = ?", (order.id,)) == 1
    answer = sim.wait_for_sent(2, timeout=10)[1]
    assert "已确认" in answer.text and answer.to == PHONE
    wait_for(lambda: outbox_status(world, 1) == "delivered", timeout=10, what="the delivery report")


def test_chinese_multipart_both_ways_and_delivery_reports(gateway) -> None:
    world, (sim,), proc = gateway(1)
    row = world.sms.send(OTHER, LONG_ZH)
    (sent,) = sim.wait_for_sent(1, timeout=10)
    assert sent.text == LONG_ZH and sent.parts >= 2
    wait_for(lambda: outbox_status(world, row["id"]) == "delivered", timeout=10, what="all parts delivered")
    assert {p["status"] for p in world.sms.store.parts_for(row["id"])} == {"delivered"}
    sim.deliver(PHONE, LONG_ZH)
    wait_for(lambda: rows(world.db, "SELECT * FROM sms_inbox"), timeout=10, what="the long SMS stored")
    (incoming,) = rows(world.db, "SELECT * FROM sms_inbox")
    assert incoming["text"] == LONG_ZH and incoming["parts"] >= 2
    wait_for(lambda: not [m for m in sim.stored() if m["kind"] == "deliver"], timeout=10, what="the SIM emptied")


def test_sim_contents_at_start_are_stored_once(gateway) -> None:
    world, (sim,), proc = gateway(1, stored=[(PHONE, "TD"), (OTHER, "你好")])
    wait_for(lambda: scalar(world.db, "SELECT count(*) FROM sms_inbox WHERE status = 'handled'") == 2, timeout=10,
             what="both stored and handled")
    assert world.customers.get(PHONE).opt_out
    wait_for(lambda: not [m for m in sim.stored() if m["kind"] == "deliver"], timeout=10, what="the SIM emptied")


def test_several_modems_share_the_load(gateway) -> None:
    world, sims, proc = gateway(2, delay=0.05)  # each modem takes a moment per message, as real ones do
    for i in range(20):
        world.sms.send(OTHER, f"通知 {i}")
    wait_for(lambda: sum(len(s.sent_messages()) for s in sims) >= 20, timeout=20, what="20 sent")
    texts = sorted(m.text for s in sims for m in s.sent_messages())
    assert texts == sorted(f"通知 {i}" for i in range(20))
    assert all(s.sent_messages() for s in sims), "one modem did all the work"


def test_unplug_and_replug(gateway) -> None:
    world, (sim,), proc = gateway(1)
    sim.fault("unplug")
    wait_for(lambda: scalar(world.db, "SELECT state FROM sms_modems") == "reconnecting", timeout=10, what="reconnecting")
    row = world.sms.send(OTHER, "after the cable came back")
    sim.fault("replug")
    wait_for(lambda: outbox_status(world, row["id"]) in ("sent", "delivered"), timeout=20, what="sent after re-plug")
    assert sim.sent_messages()[-1].text == "after the cable came back"
