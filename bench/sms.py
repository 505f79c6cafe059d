"""SMS gateway: messages per second through the daemon with a zero-delay simulated modem (target 50/s per
modem), and the time from a reply reaching the modem to the order being charged and written to the dairy
outbox (target p99 under 200 ms).

Everything real but the radio: the gateway's worker threads, the python-gsmmodem-new based adapter, a pty,
the simulator answering AT commands with no delay, a SQLite file. Baseline for the send rate: the adapter's
own ``send()`` in a loop on the same simulator (no database, no daemon), so the ratio shows what the
gateway's bookkeeping (claim, attempt, parts, heartbeat) costs.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench._util import figure, percentile

MESSAGES = 300
REPLIES = 60


def _config(folder: Path, devices: list[str]):
    from cc.config import Config, ModemConfig

    config = Config(db=str(folder / "bench.db"))
    config.dairy.drop_dir = str(folder / "dairy")
    config.sms.quiet_hours = None
    config.sms.heartbeat_seconds = 3600
    config.sms.expire_every_seconds = 3600
    config.gsm.modems = [ModemConfig(device=d, name=f"m{i}") for i, d in enumerate(devices)]
    return config


def _gateway(config):
    from cc.gsm.modem import GsmModemAdapter
    from cc.services.container import build_services
    from cc.services.sms_gateway import SmsGateway

    return SmsGateway(
        config, modems=config.gsm.modems, make_sms=lambda: build_services(config).sms,
        make_port=lambda modem: GsmModemAdapter(modem), idle_wait=0.01,
    )


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.001)


def _raw_adapter_rate(sim) -> float:
    from cc.config import ModemConfig
    from cc.gsm.modem import GsmModemAdapter

    adapter = GsmModemAdapter(ModemConfig(device=sim.device_path))
    adapter.connect()
    try:
        n = MESSAGES // 3
        started = time.perf_counter()
        for i in range(n):
            adapter.send("+8613900139000", f"基准 {i}")
        return n / (time.perf_counter() - started)
    finally:
        adapter.close()


def _daemon_rate() -> tuple[float, float]:
    from cc.gsm.simulator import ModemSimulator
    from cc.services.container import build_services
    from cc.store.db import scalar

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim = ModemSimulator(link=folder / "modem0", delay=0.0, auto_report=False).start()
        try:
            baseline = _raw_adapter_rate(sim)
            config = _config(folder, [sim.device_path])
            services = build_services(config)
            gateway = _gateway(config)
            gateway.start()
            try:
                if not gateway.wait_connected(20):
                    raise TimeoutError("the modem did not connect")
                with services.sms.store.transaction():
                    for i in range(MESSAGES):
                        services.sms.enqueue("+8613900139000", f"通知 {i}")
                started = time.perf_counter()
                _wait(lambda: scalar(services.db, "SELECT count(*) FROM sms_outbox WHERE status = 'sent'") == MESSAGES,
                      120, "the batch")
                rate = MESSAGES / (time.perf_counter() - started)
            finally:
                gateway.stop()
                gateway.join(10)
        finally:
            sim.stop()
    return rate, baseline


def _reply_latency() -> list[float]:
    from cc.domain.timestamps import parse_iso
    from cc.gsm.simulator import ModemSimulator
    from cc.services.container import build_services
    from cc.store.db import scalar

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim = ModemSimulator(link=folder / "modem0", delay=0.0, auto_report=False).start()
        try:
            config = _config(folder, [sim.device_path])
            services = build_services(config)
            services.catalog.add_product("MILK", name="鲜牛奶", price_fen=500)
            services.catalog.set_stock("MILK", 10_000_000)
            phones = [f"+861380013{i:04d}" for i in range(REPLIES)]
            orders = []
            for phone in phones:
                services.customers.add(phone=phone, name=f"客户{phone[-4:]}")
                services.accounts.topup(phone, 10_000_000)
                orders.append(services.orders.new(phone=phone, items=[("MILK", 1)], deliveries=30))
            gateway = _gateway(config)
            gateway.start()
            samples = []
            try:
                if not gateway.wait_connected(20):
                    raise TimeoutError("the modem did not connect")
                _wait(lambda: scalar(services.db, "SELECT count(*) FROM sms_outbox WHERE status = 'sent'") == REPLIES,
                      60, "the confirmations")
                for phone, order in zip(phones, orders):
                    arrived = datetime.now(timezone.utc)
                    sim.deliver(phone, "Y")
                    query = "SELECT created_at FROM dairy_outbox WHERE order_id = ?"
                    _wait(lambda: scalar(services.db, query, (order.id,)) is not None, 10, "the charge")
                    written = parse_iso(scalar(services.db, query, (order.id,)))
                    samples.append((written - arrived).total_seconds() * 1000)
            finally:
                gateway.stop()
                gateway.join(10)
        finally:
            sim.stop()
    return samples


def run() -> list[dict]:
    rate, baseline = _daemon_rate()
    latencies = _reply_latency()
    return [
        figure("sms.daemon_send_rate_per_modem", rate, "msg/s", baseline=baseline, target=50),
        figure("sms.reply_to_charged_p50", percentile(latencies, 50), "ms", target=200, higher_is_better=False),
        figure("sms.reply_to_charged_p99", percentile(latencies, 99), "ms", target=200, higher_is_better=False),
    ]


if __name__ == "__main__":
    import json

    for item in run():
        print(json.dumps(item, ensure_ascii=False))
