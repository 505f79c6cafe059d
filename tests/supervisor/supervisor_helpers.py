"""A small world for the supervisor dashboard's tests: a database with a supervisor, two agents logged in
and three callers waiting; a fixed ``Wallboard`` consistent with it (snapshot tests draw exactly this); a
fake AMI port for listen/whisper/barge."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from cc.config import Config
from cc.domain.wallboard import (
    AgentBoard,
    AgiHealth,
    Alert,
    Charts,
    DairyHealth,
    Funnel,
    ModemHealth,
    QueueBoard,
    QueueFigures,
    SmsHealth,
    Wallboard,
    WaitingCaller,
    half_hour_slots,
)

START = "2026-11-26T02:00:00+00:00"  # 10:00 in Asia/Shanghai
SUPERVISOR, PASSWORD = "zhao", "secret1"
AGENTS = (("wang", "王伟", "PJSIP/1001"), ("li", "李娜", "PJSIP/1002"))
CALLERS = (("call-1", "orders", "+8613800138000"), ("call-2", "orders", "+8613900139000"),
           ("call-3", "changes", "+8613700137000"))


def config_for(db_path: Path | str, locale: str = "en") -> Config:
    return Config(db=str(db_path), locale=locale)


def build_world(db_path: Path) -> None:
    from cc.clock import FrozenClock
    from cc.services.container import build_services
    from cc.telephony.acd_wiring import acd_service

    config = config_for(db_path)
    svc = build_services(config, clock=FrozenClock(START))
    svc.users.add(SUPERVISOR, role="supervisor", password=PASSWORD, display_name="赵班长")
    svc.users.add("wu", role="agent", password=PASSWORD)
    acd = acd_service(config, svc.db, svc.clock)
    acd.set_agent(SUPERVISOR, "PJSIP/3001", ["orders:1"], "")
    for user, display, dial in AGENTS:
        svc.users.add(user, role="agent", password=PASSWORD, display_name=display)
        acd.set_agent(user, dial, ["orders:5", "changes:3"], "day")
        acd.change_state(user, "login")
    for call_id, queue, phone in CALLERS:
        acd.enter(call_id, queue, phone)
    svc.db.conn.close()


def fixed_board(*, alerts: bool = True) -> Wallboard:
    """The wallboard for the world above, with figures for a busy morning (what snapshots show)."""
    callers = (
        WaitingCaller(1, "orders", "call-1", "+8613800138000", "张三", 1, True, 100, 1, 185, "waiting", None, True, None),
        WaitingCaller(2, "orders", "call-2", "+8613900139000", None, None, False, 0, 2, 95, "waiting", None, False, None),
    )
    changes = (WaitingCaller(3, "changes", "call-3", "+8613700137000", "李四", 2, False, 0, 1, 40, "waiting", None,
                             False, None),)
    today = QueueFigures(offered=42, answered=36, abandoned=5, answered_in_sl=30, service_level=0.7143,
                         asa_seconds=21.5, aht_seconds=184.0, abandon_rate=0.119)
    queues = (
        QueueBoard("orders", "订奶", 2, 185, 0, callers, 1, 2, today),
        QueueBoard("changes", "订单变更", 1, 40, 0, changes, 1, 2,
                   QueueFigures(offered=12, answered=12, answered_in_sl=12, service_level=1.0, asa_seconds=8.0,
                                aht_seconds=120.0)),
    )
    agents = (
        AgentBoard("li", "李娜", "day", "ready", "", 75, None, None, None, None, 9, 4, 2.0, False),
        AgentBoard("wang", "王伟", "day", "on_call", "", 130, "call-0", "+8613600136000", "王五", "orders", 11, 6,
                   95.0, True, waiting_id=None),
    )
    slots = half_hour_slots()
    today_calls = tuple([0] * 16 + [3, 8, 12, 15, 9] + [0] * 27)
    yesterday = tuple([0] * 15 + [1, 4, 9, 14, 16, 13, 10, 8, 9, 11, 12, 10, 7, 6, 5, 4, 3, 2, 1] + [0] * 14)
    minutes = tuple(f"{9 + (m + 1) // 60:02d}:{(m + 1) % 60:02d}" for m in range(60))
    waiting = tuple(min(6, (m * 7) % 9) for m in range(60))
    charts = Charts(slots, today_calls, yesterday, minutes, waiting, Funnel(30, 24, 21, 18))
    modems = (
        ModemHealth("sim-1", "connected", 23, True, "CHINA MOBILE", 12.0, False, False, "", 140, 2),
        ModemHealth("sim-2", "reconnecting", None, False, None, 300.0, True, True, "no carrier", 0, 5),
    )
    alert_list = (
        Alert("modem_down", "critical", "sim-2", "modem sim-2 down (no heartbeat)", 300.0, 120.0),
        Alert("service_level", "warning", "orders", "queue orders: service level 71% below target 80%", 0.7143, 0.8),
        Alert("long_wait", "warning", "+8613800138000", "caller waiting", 185, 120),
        Alert("agent_stale", "warning", "wang", "agent wang: console heartbeat stale", 95.0, None),
    ) if alerts else ()
    return Wallboard(
        at=START, day="2026-11-26", service_level_seconds=20, service_level_target=0.8, queues=queues,
        agents=agents, totals=QueueFigures(offered=54, answered=48, abandoned=5, answered_in_sl=42,
                                           service_level=0.7778, asa_seconds=18.1, aht_seconds=168.0),
        waiting_total=3, longest_wait_seconds=185, charts=charts,
        sms=SmsHealth(modems, queued=7, sent_today=140, failed_today=1, oldest_queued_seconds=42),
        dairy=DairyHealth(backlog=3, failed=0, oldest_pending_seconds=65),
        agi=AgiHealth(True, True, 4.0, "127.0.0.1:4573", 4242, 3), alerts=alert_list,
    )


class FixedWallboard:
    """Stands in for ``WallboardService``: returns a given board (or raises), counting calls."""

    def __init__(self, board: Wallboard | None = None, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.board = board or fixed_board()
        self.delay, self.error = delay, error
        self.calls = 0
        self.spans: list[tuple[float, float]] = []  # (start, end) monotonic of each snapshot() call

    def snapshot(self) -> Wallboard:
        start = time.monotonic()
        self.calls += 1
        try:
            if self.delay:
                time.sleep(self.delay)  # a slow query: what the overlap test needs
            if self.error is not None:
                raise self.error
            return self.board
        finally:
            self.spans.append((start, time.monotonic()))


class FakeAmi:
    """The AMI port call control uses: one live call (a customer bridged with wang); actions recorded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict, dict]] = []
        self.channels = [
            {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "1764.1", "Linkedid": "1764.1", "BridgeId": "b1",
             "ChannelState": "6", "CallerIDNum": "+8613600136000", "Duration": "00:01:00"},
            {"Channel": "PJSIP/1001-00000002", "Uniqueid": "1764.2", "Linkedid": "1764.1", "BridgeId": "b1",
             "ChannelState": "6", "CallerIDNum": "1001", "Duration": "00:00:50"},
        ]

    def action(self, name, fields=None, *, variables=None, timeout=None):  # noqa: ANN001, ANN201
        self.sent.append((name, dict(fields or {}), dict(variables or {})))
        return {"Response": "Success"}

    def action_list(self, name, fields=None, *, timeout=None):  # noqa: ANN001, ANN201
        return {"Response": "Success", "EventList": "start"}, [dict(c, Event="CoreShowChannel") for c in self.channels]

    def subscribe(self, callback):  # noqa: ANN001, ANN201
        return lambda: None


def fake_control(ami: FakeAmi):  # noqa: ANN201
    """``services -> context manager`` giving the real CallControlService over the fake AMI port."""

    @contextmanager
    def control(services):  # noqa: ANN001, ANN202
        from cc.services.call_control import CallControlService
        from cc.store.call_control import CallControlStore
        from cc.telephony.control_dialplan import settings_from_config

        yield CallControlService(ami, CallControlStore(services.db), services.clock,
                                 settings_from_config(services.config), actor=services.acting_user or "")

    return control


async def until(pilot, predicate, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)
