"""The wallboard (the supervisor's live view) and the queue/agent figures reports share, as pure code.

- The snapshot is a tree of frozen dataclasses (``Wallboard`` at the root): what the supervisor TUI draws,
  what ``cc report queues|agents`` prints for a period. Field names are a contract with cc/tui/supervisor_*.
- ``queue_figures`` turns the counts SQL gathers over ``acd_exits`` (and the agents' events) into the
  figures: offered, answered, abandoned, service level, speed of answer, handle time. The wallboard's
  "today" and the queue report's rows call it on the same kind of row, so they never disagree.
- ``waiting_series`` samples how many callers were waiting, from their [entered, left) intervals.
- ``alerts`` are rules over a snapshot and ``Thresholds``.

Definitions (the numbers people argue about, written once):
- offered: callers who left a queue in the period, whatever the way (answered, abandoned, timeout,
  overflowed, voicemail, callback, error), counted at the moment they left; callers still in line count
  when they leave. Callers turned away at the door (blocked: queue full or blacklisted; no_agents) never
  entered and are counted apart as ``refused``.
- service level: answered within ``service_level_seconds`` / offered (a caller who overflowed to another
  queue was not served by this one).
- speed of answer (ASA): mean wait of the answered callers. Handle time (AHT): talk + wrap-up of the
  answered calls, from the agent's state events (on_call until the next state, plus the wrap-up that follows).
Stdlib only; time comes in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------
# The snapshot (the TUI's contract: add fields, never rename)


@dataclass(frozen=True)
class QueueFigures:
    """One queue (or all) over one period: today on the wallboard, one interval in the queue report."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0  # moved on to the overflow queue after max_wait
    timeout: int = 0
    voicemail: int = 0
    callback: int = 0
    error: int = 0
    refused: int = 0  # turned away at the door (blocked, no_agents): not in offered
    answered_in_sl: int = 0  # answered within service_level_seconds
    answered_backup: int = 0  # answered by a backup-tier agent (the caller had waited past overflow_after)
    transferred: int = 0  # answered calls an agent transferred on
    service_level: float | None = None  # answered_in_sl / offered (None when nothing was offered)
    asa_seconds: float | None = None  # average speed of answer
    aht_seconds: float | None = None  # average handle time (talk + wrap-up)
    talk_seconds: float | None = None  # average talk time of the answered calls
    wrap_seconds: float | None = None  # average wrap-up time
    max_wait_seconds: float | None = None  # the longest wait of a caller who left (answered or not)
    abandon_rate: float | None = None  # abandoned / offered


@dataclass(frozen=True)
class WaitingCaller:
    waiting_id: int
    queue: str
    call_id: str
    number: str  # E.164 (or as received)
    customer: str | None  # the customer's name when the number is known
    customer_id: int | None
    vip: bool
    priority: int
    position: int | None  # 1 = next; None when an agent is already being rung
    wait_seconds: int
    status: str  # waiting | ringing | callback
    tier: str | None  # primary | backup: the agent tier ringing now (None while waiting)
    overflow: bool  # waited past the queue's overflow_after: backup agents may take the call
    agent: str | None  # the agent being rung
    attempts: int = 0  # agents rung without an answer


@dataclass(frozen=True)
class QueueBoard:
    name: str
    label: str
    waiting: int  # callers in line now (waiting + ringing an agent; not call-backs)
    longest_wait_seconds: int
    callbacks: int  # callers waiting for a call back (their place kept)
    callers: tuple[WaitingCaller, ...]  # in line order (ringing first, then by place)
    agents_ready: int  # logged-in agents with the queue's skill, ready now, fresh heartbeat
    agents_serving: int  # logged-in agents with the queue's skill (any state but offline)
    today: QueueFigures


@dataclass(frozen=True)
class AgentBoard:
    user: str
    display_name: str
    group: str
    state: str  # offline | ready | ringing | on_call | wrap_up | paused | away
    reason: str  # pause reason code
    seconds_in_state: int
    call_id: str | None  # the call offered to / talking with the agent
    caller: str | None
    customer: str | None
    queue: str | None
    calls_today: int  # answered calls today
    orders_today: int  # orders entered today
    heartbeat_age_seconds: float | None  # None: never
    stale: bool  # heartbeat older than acd.heartbeat_stale_seconds (while logged in)
    waiting_id: int | None = None


@dataclass(frozen=True)
class Funnel:
    """Orders today by the furthest step each reached today (events in the order history)."""

    entered: int = 0
    confirmed: int = 0
    charged: int = 0
    sent_to_dairy: int = 0


@dataclass(frozen=True)
class Charts:
    slot_labels: tuple[str, ...]  # "00:00", "00:30", ... "23:30" (local)
    calls_today: tuple[int, ...]  # calls started per half hour today (one per label)
    calls_yesterday: tuple[int, ...]
    waiting_minutes: tuple[str, ...]  # "HH:MM" local, the last hour, one per minute (oldest first)
    waiting_last_hour: tuple[int, ...]  # callers waiting at each of those minutes
    funnel: Funnel


@dataclass(frozen=True)
class ModemHealth:
    name: str
    state: str  # starting | connected | reconnecting | stopped
    signal: int | None  # 0-31 (CSQ), 99/None unknown
    registered: bool | None
    operator: str | None
    heartbeat_age_seconds: float | None
    stale: bool  # no heartbeat within wallboard.modem_stale_seconds
    down: bool  # stale, stopped, not registered, or reconnecting
    last_error: str
    sent_count: int
    queue_depth: int


@dataclass(frozen=True)
class SmsHealth:
    modems: tuple[ModemHealth, ...]
    queued: int  # waiting to be sent (queued + sending)
    sent_today: int
    failed_today: int
    oldest_queued_seconds: int | None  # age of the oldest due message still queued


@dataclass(frozen=True)
class DairyHealth:
    backlog: int  # pending + sending messages for the dairy
    failed: int  # gave up (need a person)
    oldest_pending_seconds: int | None


@dataclass(frozen=True)
class AgiHealth:
    known: bool  # False: no AGI server has ever written a heartbeat here
    up: bool  # a fresh heartbeat (within wallboard.agi_stale_seconds)
    heartbeat_age_seconds: float | None
    name: str = ""  # host:port of the server
    pid: int | None = None
    active_calls: int | None = None


@dataclass(frozen=True)
class Alert:
    kind: str  # service_level | long_wait | modem_down | agi_down | agent_stuck | agent_stale
    severity: str  # warning | critical
    subject: str  # the queue, caller number, modem, agent
    message: str  # one English line (the TUI may build its own from kind/subject/value/limit)
    value: float | None = None
    limit: float | None = None


@dataclass(frozen=True)
class Wallboard:
    at: str  # UTC ISO of the snapshot
    day: str  # local date (YYYY-MM-DD) "today" refers to
    service_level_seconds: int
    service_level_target: float
    queues: tuple[QueueBoard, ...]
    agents: tuple[AgentBoard, ...]
    totals: QueueFigures  # all queues today
    waiting_total: int
    longest_wait_seconds: int
    charts: Charts
    sms: SmsHealth
    dairy: DairyHealth
    agi: AgiHealth
    alerts: tuple[Alert, ...]
    query_ms: float = 0.0  # time the snapshot's queries took


# --------------------------------------------------------------------------------------------------
# Figures


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: float | None, count: int) -> float | None:
    return round(total / count, 1) if count and total is not None else None


EXIT_COUNTS = ("answered", "abandoned", "overflowed", "timeout", "voicemail", "callback", "error")


def queue_figures(row: Mapping[str, object]) -> QueueFigures:
    """The figures from one aggregate row: counts per exit reason (``answered``, ``abandoned``, ...,
    ``refused``), ``answered_in_sl``, ``answered_backup``, ``transferred``, ``wait_answered_ms`` (sum of
    the answered callers' waits), ``max_wait_ms``, and over the answered calls with a handle record:
    ``handled`` (how many), ``talk_ms`` and ``wrap_ms`` (sums)."""
    n = {k: int(row.get(k) or 0) for k in EXIT_COUNTS}
    offered = sum(n.values())
    answered = n["answered"]
    handled = int(row.get("handled") or 0)
    talk = float(row.get("talk_ms") or 0) / 1000
    wrap = float(row.get("wrap_ms") or 0) / 1000
    wait = float(row.get("wait_answered_ms") or 0) / 1000
    max_wait = row.get("max_wait_ms")
    in_sl = int(row.get("answered_in_sl") or 0)
    return QueueFigures(
        offered=offered, refused=int(row.get("refused") or 0), answered_in_sl=in_sl,
        answered_backup=int(row.get("answered_backup") or 0), transferred=int(row.get("transferred") or 0),
        service_level=_ratio(in_sl, offered), asa_seconds=_mean(wait, answered),
        aht_seconds=_mean(talk + wrap, handled), talk_seconds=_mean(talk, handled), wrap_seconds=_mean(wrap, handled),
        max_wait_seconds=round(float(max_wait) / 1000, 1) if max_wait is not None else None,
        abandon_rate=_ratio(n["abandoned"], offered), **n,
    )


SUM_FIELDS = ("answered", "abandoned", "overflowed", "timeout", "voicemail", "callback", "error", "refused",
              "answered_in_sl", "answered_backup", "transferred", "wait_answered_ms", "handled", "talk_ms", "wrap_ms")


def add_rows(rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """Several aggregate rows (queues) as one (the centre's totals), for ``queue_figures``."""
    out: dict[str, object] = {k: 0 for k in SUM_FIELDS}
    waits = []
    for row in rows:
        for k in SUM_FIELDS:
            out[k] = (out[k] or 0) + (row.get(k) or 0)  # type: ignore[operator]
        if row.get("max_wait_ms") is not None:
            waits.append(row["max_wait_ms"])
    out["max_wait_ms"] = max(waits) if waits else None  # type: ignore[type-var]
    return out


# --------------------------------------------------------------------------------------------------
# Series


def waiting_series(intervals: Iterable[tuple[float, float]], start: float, step: float, points: int) -> tuple[int, ...]:
    """How many [entered, left) intervals cover each sample instant ``start + i * step`` (i < points).
    Times are POSIX seconds; a caller still waiting has ``left`` = infinity. Covering = entered <= t < left,
    so the count at t is (intervals entered by t) - (intervals left by t): two sorted lists and bisection."""
    from bisect import bisect_right

    pairs = [(a, b) for a, b in intervals if b > a]
    entered = sorted(a for a, _ in pairs)
    left = sorted(b for _, b in pairs)
    return tuple(bisect_right(entered, t) - bisect_right(left, t) for t in (start + i * step for i in range(points)))


def half_hour_slots() -> tuple[str, ...]:
    return tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))


def slot_counts(rows: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """(slot number 0..47, count) pairs as 48 counts."""
    out = [0] * 48
    for slot, count in rows:
        if 0 <= int(slot) < 48:
            out[int(slot)] += int(count)
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# Alerts


@dataclass(frozen=True)
class Thresholds:
    service_level_target: float = 0.8  # below this (with at least min_offered offered today): alert
    service_level_min_offered: int = 5
    caller_wait_seconds: int = 120  # a caller waiting longer: warning; twice as long: critical
    modem_stale_seconds: int = 120
    agi_stale_seconds: int = 60
    stuck_seconds: Mapping[str, int] = field(default_factory=lambda: {
        "ringing": 60, "on_call": 1800, "wrap_up": 300, "paused": 1800, "away": 900,
    })  # per state; a state not listed never alerts


def alerts(queues: Iterable[QueueBoard], agents: Iterable[AgentBoard], modems: Iterable[ModemHealth],
           agi: AgiHealth, limits: Thresholds) -> tuple[Alert, ...]:
    """Critical first, then warnings; within a severity in the order of the rules below."""
    found: list[Alert] = []
    for q in queues:
        sl = q.today.service_level
        if sl is not None and q.today.offered >= limits.service_level_min_offered and sl < limits.service_level_target:
            severe = sl < limits.service_level_target * 0.75
            found.append(Alert("service_level", "critical" if severe else "warning", q.name,
                               f"queue {q.name}: service level {sl:.0%} below target {limits.service_level_target:.0%}",
                               sl, limits.service_level_target))
    for q in queues:  # one alert per queue, about its longest-waiting caller (500 callers: not 500 alerts)
        over = [c for c in q.callers if c.status != "callback" and c.wait_seconds > limits.caller_wait_seconds]
        if over:
            c = max(over, key=lambda x: x.wait_seconds)
            severe = c.wait_seconds > 2 * limits.caller_wait_seconds
            more = f" ({len(over)} callers over {limits.caller_wait_seconds}s)" if len(over) > 1 else ""
            found.append(Alert("long_wait", "critical" if severe else "warning", c.number or str(c.waiting_id),
                               f"queue {q.name}: caller {c.number or c.waiting_id} waiting {c.wait_seconds}s{more}",
                               c.wait_seconds, limits.caller_wait_seconds))
    for m in modems:
        if m.down:
            why = "no heartbeat" if m.stale else (m.state if m.state != "connected" else "not registered")
            found.append(Alert("modem_down", "critical", m.name, f"modem {m.name} down ({why})",
                               m.heartbeat_age_seconds, limits.modem_stale_seconds))
    if agi.known and not agi.up:
        found.append(Alert("agi_down", "critical", agi.name or "agi",
                           f"AGI server {agi.name or ''} down: last heartbeat {agi.heartbeat_age_seconds or 0:.0f}s ago".replace("  ", " "),
                           agi.heartbeat_age_seconds, limits.agi_stale_seconds))
    for a in agents:
        limit = limits.stuck_seconds.get(a.state)
        if limit and a.seconds_in_state > limit:
            found.append(Alert("agent_stuck", "warning", a.user,
                               f"agent {a.user} {a.state}{' (' + a.reason + ')' if a.reason else ''} for {a.seconds_in_state}s",
                               a.seconds_in_state, limit))
        if a.stale and a.state != "offline":
            found.append(Alert("agent_stale", "warning", a.user, f"agent {a.user}: console heartbeat stale",
                               a.heartbeat_age_seconds, None))
    order = {"critical": 0, "warning": 1}
    return tuple(sorted(found, key=lambda x: order.get(x.severity, 2)))
