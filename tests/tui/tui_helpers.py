"""A small world for the agent console's tests: a database file with products, customers, an agent with a
password and the shipped queues; a frozen clock; the console factory the app and the tests share."""

from __future__ import annotations

import random
from pathlib import Path

from cc.clock import FrozenClock
from cc.config import Config

START = "2026-11-26T02:00:00+00:00"  # 10:00 in Asia/Shanghai
PHONE = "+8613800138000"  # 张三, known, with a balance
PHONE2 = "+8613900139000"  # 李四
UNKNOWN = "+8613700137000"
MILK, YOGURT = "MILK-1L", "YOG-200"
AGENT, PASSWORD = "wang", "secret1"


def config_for(db_path: Path | str, locale: str = "en") -> Config:
    return Config(db=str(db_path), locale=locale)


def build_world(db_path: Path, *, past_orders: int = 0, past_phone: str = PHONE2) -> None:
    from cc.services.container import build_services
    from cc.telephony.acd_wiring import acd_service

    config = config_for(db_path)
    svc = build_services(config, clock=FrozenClock(START), rng=random.Random(7))
    svc.catalog.add_product(MILK, name="鲜牛奶", price_fen=500, unit="瓶")
    svc.catalog.add_product(YOGURT, name="酸奶", price_fen=350, unit="杯")
    svc.catalog.set_stock(MILK, 100_000)
    svc.catalog.set_stock(YOGURT, 50_000)
    svc.customers.add(phone=PHONE, name="张三", address="北京市海淀区中关村大街1号", zone="海淀")
    svc.customers.add(phone=PHONE2, name="李四", address="上海市浦东新区", zone="浦东")
    svc.accounts.topup(PHONE, 500_00, key="seed")
    svc.users.add(AGENT, role="agent", password=PASSWORD)
    acd = acd_service(config, svc.db, svc.clock)
    acd.set_agent(AGENT, "PJSIP/1001", ["orders:5", "changes:3"], "day")
    for i in range(past_orders):
        order = svc.orders.new(phone=past_phone, items=[(MILK, 1)], deliveries=1, submit=False)
        svc.orders.cancel(order.code)
    svc.db.conn.close()
