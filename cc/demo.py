"""``cc demo``: a small dairy hotline with Chinese customers, run through the whole order pipeline.

It builds a fresh demo database (products, stock, customers with balances, staff), then plays a morning
of orders: entered by agents, confirmed, rejected or left to expire by customers, charged once, handed to
the dairy's drop folder, delivered, and one refunded by a supervisor. Everything goes through the same
services the commands use.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from cc.clock import FrozenClock
from cc.config import Config
from cc.errors import CcError

PRODUCTS = [
    ("MILK-1L", "鲜牛奶 1L", "瓶", 500),
    ("MILK-LF", "低脂牛奶 950ml", "盒", 680),
    ("YOG-200", "原味酸奶 200g", "杯", 350),
    ("KID-125", "儿童成长奶 125ml", "盒", 250),
    ("ORG-1L", "有机纯牛奶 1L", "瓶", 990),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
DISTRICTS = [("朝阳区", "东区"), ("海淀区", "西区"), ("东城区", "中区"), ("西城区", "中区"), ("丰台区", "南区"), ("通州区", "东区")]
STREETS = ["建国路", "中关村大街", "东直门内大街", "西单北大街", "丰台北路", "新华大街", "望京街", "学院路"]

STAFF = [("admin", "admin", "管理员"), ("wangfang", "supervisor", "王芳"), ("lina", "agent", "李娜"),
         ("zhangwei", "agent", "张伟"), ("expert1", "expert", "陈专家"), ("liuyang", "agent", "刘洋"),
         ("zhaomin", "agent", "赵敏")]
# The ACD agents (dial string, skills SERVICE:LEVEL) that take the simulated center's calls (cc/sim/center.py).
AGENTS = [("lina", "PJSIP/1001", ["orders:8", "operator:5"]), ("zhangwei", "PJSIP/1002", ["orders:6", "changes:5", "operator:3"]),
          ("expert1", "PJSIP/1003", ["complaints:9", "orders:3"]), ("liuyang", "PJSIP/1004", ["orders:5", "complaints:4"]),
          ("zhaomin", "PJSIP/1005", ["orders:4", "operator:6", "changes:3"])]
DEMO_SUPERVISOR = "wangfang"
DEMO_PASSWORD = "demo1234"


@dataclass
class DemoResult:
    db: str
    dairy_dir: str
    customers: int = 0
    orders_by_status: Counter = field(default_factory=Counter)
    refused_entries: list[str] = field(default_factory=list)
    revenue_fen: int = 0
    refunded_fen: int = 0
    dairy_files: int = 0
    ledger_consistent: bool = False
    log: list[str] = field(default_factory=list)
    sms_sent: int = 0


def run_demo(db_path: Path, *, orders: int = 24, seed: int = 116114, say=None, sms_delay: float = 0.0) -> DemoResult:  # noqa: ANN001
    """Seed the demo center and play a morning of orders. Confirmation SMS go out through the real SMS
    gateway and adapter to the built-in modem simulator, whose simulated customers reply."""
    from cc.services.container import build_services

    say = say or (lambda text: None)
    rng = random.Random(seed)
    config = demo_config(db_path)
    with build_services(config, rng=rng) as services:
        return _play(config, services, rng, db_path, orders, say, sms_delay)


def _play(config: Config, services, rng: random.Random, db_path: Path, orders: int, say, sms_delay: float) -> DemoResult:  # noqa: ANN001
    from cc.services.container import build_services

    result = DemoResult(db=str(db_path), dairy_dir=config.dairy.drop_dir)
    phones = _seed(services, rng, result, say)

    say("启动短信网关和模拟短信猫 / starting the SMS gateway on the modem simulator")
    with SimulatedSmsLine(config, delay=sms_delay) as line:
        say(f"  modem on {line.simulator.device_path}")
        entered = _enter_orders(config, services, rng, phones, orders, result, say)
        say("客户回复短信 / customers reply by SMS")
        line.answer(services, entered, rng, say)
    result.sms_sent = line.sent_count

    now = services.clock.now()
    later = build_services(config, db=services.db, clock=FrozenClock(now + timedelta(minutes=config.orders.confirmation_timeout_minutes + 1)))
    expired = later.orders.expire_due()
    say(f"  {len(expired)} order(s) expired without a reply (clock fast-forwarded past the confirmation window)")

    _deliver_and_refund(config, services, rng, say)
    _summarise(config, services, result)
    return result


def demo_config(db_path: Path) -> Config:
    """The demo's configuration: its database, and the dairy's drop folder next to it."""
    config = Config(db=str(db_path))
    config.dairy.drop_dir = str(db_path.parent / f"{db_path.stem}-dairy")
    return config


def seed_center(db_path: Path, *, seed: int = 116114) -> Config:
    """Only the demo center (staff, agents and queues, catalogue, customers), without the morning of orders."""
    from cc.services.container import build_services

    rng = random.Random(seed)
    config = demo_config(db_path)
    with build_services(config, rng=rng) as services:
        _seed(services, rng, DemoResult(db=str(db_path), dairy_dir=config.dairy.drop_dir), lambda text: None)
    return config


def _seed(services, rng: random.Random, result: DemoResult, say) -> list[str]:  # noqa: ANN001
    say("建立演示数据 / seeding the demo center")
    for name, role, display in STAFF:
        services.users.add(name, role=role, password=DEMO_PASSWORD, display_name=display)
    from cc.telephony.acd_wiring import from_services

    acd = from_services(services)  # loads the shipped queues
    for user, dial, skills in AGENTS:
        acd.set_agent(user, dial, skills)
    for sku, name, unit, price in PRODUCTS:
        services.catalog.add_product(sku, name=name, price_fen=price, unit=unit)
        services.catalog.set_stock(sku, rng.choice([400, 600, 900]))
    services.catalog.set_stock("ORG-1L", 40)  # scarce: some orders will find it short
    phones = []
    for i in range(30):
        district, zone = DISTRICTS[i % len(DISTRICTS)]
        phone = f"139{rng.randint(10000000, 99999999)}"
        tags = ["vip"] if i % 9 == 0 else (["blacklist"] if i == 29 else [])
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[rng.randrange(len(GIVEN))]
        services.customers.add(phone=phone, name=name, address=f"北京市{district}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                               zone=zone, tags=tags)
        services.accounts.topup(phone, rng.choice([5000, 50000, 100000, 200000, 300000]), key=f"demo-{i}", note="开户充值")
        phones.append(phone)
    result.customers = len(phones)
    return phones


def _enter_orders(config: Config, services, rng: random.Random, phones: list[str], orders: int,  # noqa: ANN001
                  result: DemoResult, say) -> list:  # noqa: ANN001
    from cc.services.container import build_services

    say(f"坐席录入 {orders} 个订单 / agents key in {orders} orders")
    agents = [build_services(config, db=services.db, rng=rng, acting_user=a) for a in ("lina", "zhangwei")]
    entered = []
    for n in range(orders):
        phone = rng.choice(phones)
        items = [(sku, rng.randint(1, 2)) for sku, *_ in rng.sample(PRODUCTS, rng.choice([1, 1, 2]))]
        try:
            order = agents[n % 2].orders.new(phone=phone, items=items, deliveries=rng.choice([1, 7, 14, 30]),
                                             frequency=rng.choice(["daily", "daily", "weekly"]))
            entered.append(order)
            say(f"  {order.code} {order.customer_name} {', '.join(f'{l.name}x{l.quantity}' for l in order.lines)} "
                f"x{order.deliveries} ¥{order.total_fen / 100:.2f}")
        except CcError as exc:
            result.refused_entries.append(f"{phone}: {exc.message}")
            say(f"  refused: {exc.message}")
    return entered


class SimulatedSmsLine:
    """The built-in modem simulator with the real SMS gateway (adapter, worker threads) in front of it.
    Used by the demo and by tests that want the whole SMS path (``clock``: the services' clock)."""

    def __init__(self, config: Config, *, delay: float = 0.0, clock=None) -> None:  # noqa: ANN001
        from cc.config import ModemConfig
        from cc.gsm.modem import GsmModemAdapter
        from cc.gsm.simulator import ModemSimulator
        from cc.services.container import build_services
        from cc.services.sms_gateway import SmsGateway

        self.config = config
        self.simulator = ModemSimulator("huawei", delay=delay)
        self.gateway = SmsGateway(
            config, modems=[ModemConfig(device="", name="demo-modem")],
            make_sms=lambda: build_services(config, clock=clock).sms,
            make_port=lambda modem: GsmModemAdapter(
                ModemConfig(device=self.simulator.device_path, name=modem.name),
                multipart_timeout=config.sms.multipart_timeout_seconds),
            idle_wait=0.05,
        )
        self.sent_count = 0

    def _last_error(self) -> str:
        """What the gateway's worker last recorded on its modem row (for the error message), if anything."""
        try:
            from cc.services.container import build_services

            with build_services(self.config) as services:
                rows = services.sms.status()["modems"]
        except Exception:  # noqa: BLE001 - only decorates an error already being raised
            return ""
        errors = [f"{m['name']}: {m['state']}, {m['last_error']}" for m in rows if m.get("last_error")]
        return f" ({'; '.join(errors)})" if errors else " (its worker recorded no error)"

    def __enter__(self) -> SimulatedSmsLine:
        self.simulator.start()
        self.gateway.start()
        # The simulator answers in milliseconds; the bound is for a machine under heavy load.
        if not self.gateway.wait_connected(45):
            self.__exit__(None, None, None)
            from cc.errors import Unreachable

            raise Unreachable("the demo's SMS gateway did not connect to the modem simulator" + self._last_error(),
                              "run 'cc gsm simulate' to check the simulator")
        return self

    def __exit__(self, *exc: object) -> None:
        self.sent_count = len(self.simulator.sent_messages())
        self.gateway.stop()
        self.gateway.join(15)
        self.simulator.stop()

    def answer(self, services, entered: list, rng: random.Random, say) -> None:  # noqa: ANN001
        """Wait for each confirmation SMS, then reply as the customer would: most yes, some no, some never."""
        import time

        from cc.phone import display_phone

        deadline = time.monotonic() + 60
        pending = {o.code: o for o in entered}
        replies = 0
        while pending and time.monotonic() < deadline:
            sent = self.simulator.sent_messages()
            by_phone: dict[str, list] = {}
            for order in services.orders.list(statuses=["awaiting_confirmation"], limit=0):
                by_phone.setdefault(display_phone(order.phone), []).append(order)
            for message in sent:
                number = message.to.lstrip("+").removeprefix("86")
                for order in [o for o in by_phone.get(number, []) if o.code in pending and o.code in message.text]:
                    del pending[order.code]
                    say(f"  → {number}: {message.text}")
                    answer = rng.choices(["Y", "是", "N", None], weights=[60, 15, 12, 13])[0]
                    if answer is None:
                        say(f"  ← {number}: (no reply)")
                        continue
                    # With several orders waiting, customers quote the code, as the gateway's question asks.
                    text = f"{answer} {order.code}" if len(by_phone[number]) > 1 else answer
                    say(f"  ← {number}: {text}")
                    self.simulator.deliver(number, text)
                    replies += 1
            if pending:
                time.sleep(0.05)  # polling the simulator's record of sent messages; bounded by the deadline
        # Replies are handled by the gateway's worker: wait (bounded) until each answered order has moved.
        answered_deadline = time.monotonic() + 30
        while time.monotonic() < answered_deadline:
            if sum(1 for row in services.sms.inbox(limit=10_000) if row["status"] == "handled") >= replies:
                break
            time.sleep(0.05)


def _deliver_and_refund(config: Config, services, rng: random.Random, say) -> None:  # noqa: ANN001
    from cc.services.container import build_services

    say("牛奶厂配送 / the dairy delivers")
    services.dairy.deliver_due()
    delivered_days: list[tuple[int, dict]] = []
    line = 2
    for order in services.orders.list(statuses=["sent_to_dairy"], limit=0):
        for day in order_days(order)[: rng.choice([1, 2, order.deliveries])]:
            delivered_days.append((line, {"order_code": order.code, "delivered_on": day}))
            line += 1
    imported = services.orders.record_deliveries(delivered_days)
    say(f"  {imported.recorded} deliveries recorded, {len(imported.completed)} order(s) completed")
    supervisor = build_services(config, db=services.db, rng=rng, acting_user="wangfang")
    refundable = services.orders.list(statuses=["in_delivery", "sent_to_dairy"], limit=0)
    if refundable:
        refunded = supervisor.orders.refund(refundable[-1].code, reason="客户搬家，退未配送部分")
        say(f"  supervisor refunded {refunded.code}: ¥{refunded.refunded_fen / 100:.2f}")


def _summarise(config: Config, services, result: DemoResult) -> None:  # noqa: ANN001
    for order in services.orders.list(limit=0):
        result.orders_by_status[order.status] += 1
        result.refunded_fen += order.refunded_fen
    result.revenue_fen = -sum(e["amount_fen"] for e in _all_ledger(services) if e["kind"] == "charge")
    drop = Path(config.dairy.drop_dir)
    result.dairy_files = len(list(drop.glob("*.json"))) if drop.exists() else 0
    result.ledger_consistent = all(
        services.store.ledger_sum(c.id) == c.balance_fen for c in services.customers.search(limit=1000)
    )


def order_days(order) -> list[str]:  # noqa: ANN001
    from datetime import date, timedelta

    step = timedelta(days=1 if order.frequency == "daily" else 7)
    start = date.fromisoformat(order.start_date)
    return [(start + step * i).isoformat() for i in range(order.deliveries)]


def _all_ledger(services) -> list[dict]:  # noqa: ANN001
    entries = []
    for customer in services.customers.search(limit=1000):
        entries += services.store.ledger(customer.id, 10_000)
    return entries


def start_center(config: Config, *, seed: int = 116114, calls_per_minute: float = 2.0, speed: float | None = 1.0,
                 warm_up_minutes: float = 0.0):  # noqa: ANN201
    """The live simulated center on the demo database (cc/sim/center.py), started and ready for callers.
    ``warm_up_minutes``: first play that many minutes just before now (headless, in a second or two), so the
    dashboard opens on a center that has been busy for a while (today's figures, the last hour's chart)."""
    from datetime import datetime, timezone

    from cc.sim.center import SimCenter

    if warm_up_minutes > 0:
        # Ends a few minutes before now: the calls still in progress then play to their end before the live run.
        start = datetime.now(timezone.utc) - timedelta(minutes=warm_up_minutes + WARM_UP_MARGIN_MINUTES)
        SimCenter(config, seed=seed + 1, calls_per_minute=calls_per_minute, start=start).run(warm_up_minutes)
    sim = SimCenter(config, seed=seed, calls_per_minute=calls_per_minute, speed=speed).start()
    try:
        sim.wait_started()
    except BaseException:
        sim.stop()
        raise
    return sim


WARM_UP_MARGIN_MINUTES = 6


def live_dashboard(config: Config, sim, *, locale: str | None = None, poll_seconds: float = 1.0):  # noqa: ANN001, ANN201
    """The supervisor dashboard on the simulated center, signed in as the demo supervisor, on its clock."""
    from cc.tui.supervisor_app import make_supervisor_app

    return make_supervisor_app(config, user=DEMO_SUPERVISOR, password=DEMO_PASSWORD, locale=locale, clock=sim.clock,
                               poll_seconds=poll_seconds)
