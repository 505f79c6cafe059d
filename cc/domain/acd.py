"""The ACD's rules as pure functions: queues, agents, the order of waiting callers, the choice of an
agent, overflow timing, the no-agents policy and the position announcement. Stdlib only, no I/O.

Time is always passed in, as POSIX seconds (``float``): the services convert the clock's instant once.

- Waiting callers are served by ``priority`` (higher first: VIP above normal, or what a supervisor set),
  then by arrival (``entered``), then by id.
- An agent can be offered a call only when ``ready`` and its heartbeat is fresh (``heartbeat_stale``
  seconds; 0 turns the check off).
- Agents with the queue's skill (``service``, level >= ``min_level``) are the primary agents. After
  ``overflow_after`` seconds of waiting the caller may also get a backup agent: one with a skill in
  ``backup_skills`` (``*``: any skill at all).
- Strategies: ``longest_idle`` (longest since the last call ended), ``highest_skill``, ``lowest_skill``
  (trains juniors); ties always go to the longest idle, then the user name.
- After ``max_wait`` seconds: ``on_max_wait`` = voicemail | callback | timeout (hang up) | offer (press
  1 for voicemail, 2 for a call back, or keep waiting; offered again every ``max_wait`` seconds) | queue
  (move to the queue ``overflow_queue``: the exit here is "overflowed").
- When no agent who could take the call is logged in: ``no_agents`` = voicemail | message (say so and
  hang up) | wait.
"""

from __future__ import annotations

import math
from operator import attrgetter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------------------------------
# Vocabulary

STATES = ("offline", "ready", "ringing", "on_call", "wrap_up", "paused", "away")
STRATEGIES = ("longest_idle", "highest_skill", "lowest_skill")
MAX_WAIT_ACTIONS = ("voicemail", "callback", "timeout", "offer", "queue")
NO_AGENT_POLICIES = ("voicemail", "message", "wait")
# Why a caller left a queue (one row each in acd_exits).
EXIT_REASONS = (
    "answered", "abandoned", "timeout", "overflowed", "voicemail", "callback", "no_agents", "blocked", "error",
)
NO_ANSWER_REASON = "no answer"

# Which manual state changes are allowed from which state (the dispatcher and the call flow move agents
# between ready, ringing, on_call and wrap_up themselves).
MANUAL: dict[str, frozenset[str]] = {
    "login": frozenset({"offline"}),
    "ready": frozenset({"ready", "paused", "away", "wrap_up"}),
    "pause": frozenset({"ready", "paused", "away", "wrap_up"}),
    "away": frozenset({"ready", "paused", "away", "wrap_up"}),
    "logout": frozenset({"ready", "paused", "away", "wrap_up", "offline"}),
}
MANUAL_TARGET = {"login": "ready", "ready": "ready", "pause": "paused", "away": "away", "logout": "offline"}


class AcdRuleError(ValueError):
    """A queue definition or an agent setting breaks a rule (the message says which). ``at``: where in a
    queue file, as keys (``("queues", "orders", "overflow", "after_seconds")``), for the line of it."""

    def __init__(self, message: str, at: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.at = at


# ----------------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    service: str  # the skill an agent needs
    label: str = ""
    strategy: str = "longest_idle"
    min_level: int = 1
    ring_seconds: int = 15
    wrap_up_seconds: int = 10
    recording: bool = False
    survey: bool = False
    max_waiting: int = 0  # 0: no limit; more callers than this are turned away ("blocked", queue full)
    announce_every: int = 30  # seconds between position announcements; 0: never
    announce_position: bool = True
    announce_wait: bool = False
    average_handle_seconds: int = 180  # for the expected wait when there is no history yet
    overflow_after: int = 0  # seconds; 0: no backup agents
    backup_skills: tuple[str, ...] = ()  # ("*",) = any agent
    max_wait: int = 0  # seconds; 0: wait for ever
    on_max_wait: str = "timeout"
    overflow_queue: str = ""  # with on_max_wait "queue"
    no_agents: str = "wait"
    vip_priority: int = 10
    prompts: Mapping[str, str] = field(default_factory=dict)  # role -> prompt id (enter, survey, ...)


@dataclass(frozen=True, slots=True)
class Agent:
    user: str
    state: str = "offline"
    skills: Mapping[str, int] = field(default_factory=dict)
    group: str = ""
    heartbeat: float | None = None  # last heartbeat, POSIX seconds
    idle_since: float = 0.0  # last call ended (or log-in), POSIX seconds


@dataclass(frozen=True, slots=True)
class WaitingCall:
    id: int
    queue: str
    entered: float  # POSIX seconds; kept when the caller is put back at the head of the line
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Choice:
    agent: str
    tier: str  # primary | backup
    level: int


# ----------------------------------------------------------------------------------------------------
# Queue definitions (from YAML)

_QUEUE_KEYS = {
    "label", "service", "strategy", "min_level", "ring_seconds", "wrap_up_seconds", "recording", "survey",
    "max_waiting", "announce", "overflow", "no_agents", "vip_priority", "average_handle_seconds", "prompts",
}


def queue_from_dict(name: str, data: Mapping[str, Any]) -> Queue:
    """One queue from its YAML mapping; ``AcdRuleError`` names the queue and the key that is wrong."""
    here = ("queues", name)
    if not isinstance(data, Mapping):
        raise AcdRuleError(f"queue '{name}': must be a mapping of keys", here)
    unknown = set(data) - _QUEUE_KEYS
    if unknown:
        raise AcdRuleError(f"queue '{name}': unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_QUEUE_KEYS))}",
                           (*here, min(map(str, unknown))))
    announce = data.get("announce") or {}
    overflow = data.get("overflow") or {}
    for section, value, keys in (
        ("announce", announce, {"every_seconds", "position", "expected_wait"}),
        ("overflow", overflow, {"after_seconds", "backup_skills", "max_wait_seconds", "then", "queue"}),
    ):
        if not isinstance(value, Mapping):
            raise AcdRuleError(f"queue '{name}': {section} must be a mapping", (*here, section))
        bad = set(value) - keys
        if bad:
            raise AcdRuleError(f"queue '{name}': unknown {section} key(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(keys))}",
                               (*here, section, min(map(str, bad))))

    def integer(value: Any, key: str, low: int = 0, high: int = 86_400) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise AcdRuleError(f"queue '{name}': {key} must be a whole number from {low} to {high}, not {value!r}", (*here, *key.split(".")))
        return value

    def flag(value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise AcdRuleError(f"queue '{name}': {key} must be true or false, not {value!r}", (*here, *key.split(".")))
        return value

    def choice(value: Any, key: str, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise AcdRuleError(f"queue '{name}': {key} must be one of {', '.join(allowed)}, not {value!r}", (*here, *key.split(".")))
        return str(value)

    service = data.get("service", name)
    if not isinstance(service, str) or not service:
        raise AcdRuleError(f"queue '{name}': service must be a skill name", (*here, "service"))
    backup = overflow.get("backup_skills", [])
    if isinstance(backup, str):
        backup = [backup]
    if not isinstance(backup, list) or not all(isinstance(b, str) and b for b in backup):
        raise AcdRuleError(f"queue '{name}': overflow.backup_skills must be a list of skill names (or '*')",
                           (*here, "overflow", "backup_skills"))
    prompts = data.get("prompts") or {}
    if not isinstance(prompts, Mapping) or not all(isinstance(v, str) for v in prompts.values()):
        raise AcdRuleError(f"queue '{name}': prompts must map a role (enter, survey, ...) to a prompt id", (*here, "prompts"))
    label = data.get("label", "")
    if not isinstance(label, str):
        raise AcdRuleError(f"queue '{name}': label must be text", (*here, "label"))
    queue = Queue(
        name=name,
        service=service,
        label=label,
        strategy=choice(data.get("strategy", "longest_idle"), "strategy", STRATEGIES),
        min_level=integer(data.get("min_level", 1), "min_level", 1, 10),
        ring_seconds=integer(data.get("ring_seconds", 15), "ring_seconds", 1, 600),
        wrap_up_seconds=integer(data.get("wrap_up_seconds", 10), "wrap_up_seconds", 0, 3600),
        recording=flag(data.get("recording", False), "recording"),
        survey=flag(data.get("survey", False), "survey"),
        max_waiting=integer(data.get("max_waiting", 0), "max_waiting", 0, 100_000),
        announce_every=integer(announce.get("every_seconds", 30), "announce.every_seconds", 0, 3600),
        announce_position=flag(announce.get("position", True), "announce.position"),
        announce_wait=flag(announce.get("expected_wait", False), "announce.expected_wait"),
        average_handle_seconds=integer(data.get("average_handle_seconds", 180), "average_handle_seconds", 1, 86_400),
        overflow_after=integer(overflow.get("after_seconds", 0), "overflow.after_seconds"),
        backup_skills=tuple(backup),
        max_wait=integer(overflow.get("max_wait_seconds", 0), "overflow.max_wait_seconds"),
        on_max_wait=choice(overflow.get("then", "timeout"), "overflow.then", MAX_WAIT_ACTIONS),
        overflow_queue=str(overflow.get("queue", "") or ""),
        no_agents=choice(data.get("no_agents", "wait"), "no_agents", NO_AGENT_POLICIES),
        vip_priority=integer(data.get("vip_priority", 10), "vip_priority", 0, 1000),
        prompts=dict(prompts),
    )
    if queue.on_max_wait == "queue" and (not queue.overflow_queue or queue.overflow_queue == name):
        raise AcdRuleError(f"queue '{name}': overflow.then: queue needs overflow.queue (another queue's name)",
                           (*here, "overflow", "then"))
    if queue.overflow_after and not queue.backup_skills:
        raise AcdRuleError(f"queue '{name}': overflow.after_seconds needs overflow.backup_skills (skills, or '*')",
                           (*here, "overflow", "after_seconds"))
    return queue


def queues_from_dict(data: Any) -> dict[str, Queue]:
    """The ``queues:`` mapping of a queue file."""
    if not isinstance(data, Mapping) or not isinstance(data.get("queues"), Mapping) or not data["queues"]:
        raise AcdRuleError("a queue file needs a 'queues:' mapping with at least one queue", ("queues",))
    out = {}
    for name, body in data["queues"].items():
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise AcdRuleError(f"queue name {name!r}: use letters, digits, - and _", ("queues", str(name)))
        out[name] = queue_from_dict(name, body or {})
    for name, queue in out.items():
        if queue.overflow_queue and queue.overflow_queue not in out:
            raise AcdRuleError(f"queue '{name}': overflow.queue '{queue.overflow_queue}' is not defined in the file",
                               ("queues", name, "overflow", "queue"))
    return out


def queue_to_dict(queue: Queue) -> dict[str, Any]:
    return {
        "label": queue.label, "service": queue.service, "strategy": queue.strategy, "min_level": queue.min_level,
        "ring_seconds": queue.ring_seconds, "wrap_up_seconds": queue.wrap_up_seconds, "recording": queue.recording,
        "survey": queue.survey, "max_waiting": queue.max_waiting, "vip_priority": queue.vip_priority,
        "average_handle_seconds": queue.average_handle_seconds, "no_agents": queue.no_agents,
        "announce": {"every_seconds": queue.announce_every, "position": queue.announce_position,
                     "expected_wait": queue.announce_wait},
        "overflow": {"after_seconds": queue.overflow_after, "backup_skills": list(queue.backup_skills),
                     "max_wait_seconds": queue.max_wait, "then": queue.on_max_wait,
                     **({"queue": queue.overflow_queue} if queue.overflow_queue else {})},
        "prompts": dict(queue.prompts),
    }


def parse_skill(text: str) -> tuple[str, int]:
    """``orders:7`` -> ("orders", 7); the level is 1-10."""
    service, sep, level = text.rpartition(":")
    if not sep or not service.strip():
        raise AcdRuleError(f"skill '{text}' is not SERVICE:LEVEL (e.g. orders:7)")
    try:
        value = int(level)
    except ValueError:
        raise AcdRuleError(f"skill '{text}': level '{level}' is not a whole number") from None
    if not 1 <= value <= 10:
        raise AcdRuleError(f"skill '{text}': level must be 1 to 10")
    return service.strip(), value


# ----------------------------------------------------------------------------------------------------
# Agents


def manual_change(command: str, state: str) -> str:
    """The state a manual command (login, ready, pause, away, logout) moves an agent to from ``state``."""
    if command not in MANUAL:
        raise AcdRuleError(f"unknown agent command {command!r}")
    if state not in MANUAL[command]:
        if state in ("ringing", "on_call"):
            raise AcdRuleError(f"the agent is {state.replace('_', ' ')}; {command} after the call")
        if state == "offline":
            raise AcdRuleError(f"the agent is offline; log in first")
        raise AcdRuleError(f"cannot {command} an agent who is {state.replace('_', ' ')}")
    return MANUAL_TARGET[command]


# What a supervisor may force (``cc agent force``): ready and pause follow the manual rules; a sign-out
# works from any state but ringing (the handler is ringing the agent's phone: wait for the answer or
# the ring timeout), so an agent stuck on a call can be cleared.
FORCED = {"ready": "ready", "pause": "pause", "logout": "logout", "sign-out": "logout", "signout": "logout"}


def forced_change(command: str, state: str) -> str:
    """The state a supervisor's forced ``command`` (ready, pause, logout/sign-out) moves an agent to."""
    manual = FORCED.get(command)
    if manual is None:
        raise AcdRuleError(f"cannot force {command!r}: use ready, pause or logout")
    if manual == "logout":
        if state == "ringing":
            raise AcdRuleError("the agent's phone is ringing with a call; force the sign-out after it")
        return "offline"
    if state == "offline":
        raise AcdRuleError("the agent is offline; only the agent can log in")
    return manual_change(manual, state)


def fresh(agent: Agent, now: float, stale_after: float) -> bool:
    """True when the agent's console heartbeat is recent enough (``stale_after`` 0: no check)."""
    if stale_after <= 0:
        return True
    return agent.heartbeat is not None and now - agent.heartbeat <= stale_after


def available(agent: Agent, now: float, stale_after: float) -> bool:
    return agent.state == "ready" and fresh(agent, now, stale_after)


def logged_in(agent: Agent, now: float, stale_after: float) -> bool:
    return agent.state != "offline" and fresh(agent, now, stale_after)


def tier(agent: Agent, queue: Queue, waited: float) -> tuple[str, int] | None:
    """("primary", level) for an agent with the queue's skill, ("backup", level) for a backup agent once
    the caller has waited ``overflow_after`` seconds, else None."""
    level = agent.skills.get(queue.service, 0)
    if level >= queue.min_level:
        return "primary", level
    if queue.overflow_after and waited >= queue.overflow_after and queue.backup_skills:
        if "*" in queue.backup_skills:
            return ("backup", max(agent.skills.values())) if agent.skills else ("backup", 0)
        best = max((agent.skills.get(s, 0) for s in queue.backup_skills), default=0)
        if best > 0:
            return "backup", best
    return None


def could_serve(agent: Agent, queue: Queue) -> bool:
    """The agent has the queue's skill or a backup skill (ignoring how long anyone waited)."""
    level = agent.skills.get(queue.service, 0)
    if level >= queue.min_level:
        return True
    if queue.overflow_after and queue.backup_skills:
        return "*" in queue.backup_skills or any(agent.skills.get(s, 0) > 0 for s in queue.backup_skills)
    return False


def _rank(strategy: str, agent: Agent, level: int) -> tuple:
    # smaller is better; ties: longest idle (smallest idle_since), then user name
    if strategy == "highest_skill":
        return (-level, agent.idle_since, agent.user)
    if strategy == "lowest_skill":
        return (level, agent.idle_since, agent.user)
    return (agent.idle_since, agent.user)


def choose_agent(queue: Queue, agents: Iterable[Agent], waited: float, now: float, stale_after: float) -> Choice | None:
    """The agent the queue's strategy picks for a caller who has waited ``waited`` seconds.

    Primary agents always come before backup agents; the strategy orders each tier."""
    best_primary: tuple | None = None
    best_backup: tuple | None = None
    strategy = queue.strategy
    for agent in agents:
        if agent.state != "ready" or (stale_after > 0 and (agent.heartbeat is None or now - agent.heartbeat > stale_after)):
            continue
        found = tier(agent, queue, waited)
        if found is None:
            continue
        kind, level = found
        key = (_rank(strategy, agent, level), agent, level)
        if kind == "primary":
            if best_primary is None or key[0] < best_primary[0]:
                best_primary = key
        elif best_primary is None and (best_backup is None or key[0] < best_backup[0]):
            best_backup = key
    if best_primary is not None:
        return Choice(best_primary[1].user, "primary", best_primary[2])
    if best_backup is not None:
        return Choice(best_backup[1].user, "backup", best_backup[2])
    return None


# ----------------------------------------------------------------------------------------------------
# Callers


_BY_ID, _BY_ENTERED, _BY_PRIORITY = attrgetter("id"), attrgetter("entered"), attrgetter("priority")


def line_key(call: WaitingCall) -> tuple:
    return (-call.priority, call.entered, call.id)


def order_line(calls: Iterable[WaitingCall]) -> list[WaitingCall]:
    """Waiting callers in the order they are served: priority (higher first), arrival, id.

    Three stable sorts on C-level keys (same order as ``sorted(key=line_key)``, several times faster)."""
    line = sorted(calls, key=_BY_ID)
    line.sort(key=_BY_ENTERED)
    line.sort(key=_BY_PRIORITY, reverse=True)  # reverse=True keeps equal items in their order
    return line


def entry_priority(queue: Queue, vip: bool) -> int:
    return queue.vip_priority if vip else 0


def position(call: WaitingCall, line: Iterable[WaitingCall]) -> int:
    """How many callers of the same queue are ahead of ``call`` (0: it is next)."""
    key = line_key(call)
    return sum(1 for other in line if other.queue == call.queue and other.id != call.id and line_key(other) < key)


def assignments(
    calls: Iterable[WaitingCall], agents: Iterable[Agent], queues: Mapping[str, Queue], now: float, stale_after: float,
    limit: int | None = None,
) -> list[tuple[WaitingCall, Choice]]:
    """Which waiting call gets which agent now: the line in order, each call the best agent still free.

    A call whose queue has no agent for it yet is skipped (the next caller may have waited long enough
    for a backup agent, or be in another queue)."""
    free = [a for a in agents if available(a, now, stale_after)]
    out: list[tuple[WaitingCall, Choice]] = []
    if not free:
        return out
    taken: set[str] = set()
    for call in order_line(calls):
        queue = queues.get(call.queue)
        if queue is None:
            continue
        pool = [a for a in free if a.user not in taken] if taken else free
        picked = choose_agent(queue, pool, now - call.entered, now, stale_after)
        if picked is None:
            continue
        out.append((call, picked))
        taken.add(picked.agent)
        if len(taken) == len(free) or (limit is not None and len(out) >= limit):
            break
    return out


def max_wait_action(queue: Queue, waited: float, offers_made: int) -> str | None:
    """What to do now about a caller who has waited ``waited`` seconds: None (keep waiting), or the
    queue's ``on_max_wait`` once ``max_wait`` has passed (an offer repeats every ``max_wait`` seconds)."""
    if not queue.max_wait:
        return None
    due = queue.max_wait * (offers_made + 1) if queue.on_max_wait == "offer" else queue.max_wait
    return queue.on_max_wait if waited >= due else None


def no_agent_action(queue: Queue, agents: Iterable[Agent], now: float, stale_after: float) -> str | None:
    """The queue's no-agents policy when no agent who could take its calls is logged in; else None."""
    if queue.no_agents == "wait":
        return None
    for agent in agents:
        if logged_in(agent, now, stale_after) and could_serve(agent, queue):
            return None
    return queue.no_agents


def announcement_due(queue: Queue, waited: float, last_announced: float | None) -> bool:
    """Every ``announce_every`` seconds of waiting (the first one after the first interval)."""
    if not queue.announce_every or not (queue.announce_position or queue.announce_wait):
        return False
    since = waited if last_announced is None else waited - last_announced
    return since >= queue.announce_every


def expected_wait(ahead: int, average_handle: float, serving_agents: int) -> int:
    """Seconds until an agent is free for a caller with ``ahead`` callers in front of them."""
    return int(math.ceil((ahead + 1) * average_handle / max(1, serving_agents)))


# ----------------------------------------------------------------------------------------------------
# What callers hear (kept here so the i18n catalog can take them over)

TEXTS = {
    "zh_CN": {
        "ahead": "您前面还有{n}位",
        "next": "您是下一位",
        "wait": "，预计等待约{m}分钟",
        "wait_short": "，预计等待不到1分钟",
    },
    "en": {
        "ahead": "there are {n} callers ahead of you",
        "ahead_one": "there is 1 caller ahead of you",
        "next": "you are next",
        "wait": ", expected wait about {m} minutes",
        "wait_one": ", expected wait about 1 minute",
        "wait_short": ", expected wait under a minute",
    },
}

# Prompt ids for the spoken form (sound files in the IVR's prompts folder) and their zh text.
PROMPTS = {
    "acd_ahead": "您前面还有",
    "acd_callers": "位",
    "acd_next": "您是下一位",
    "acd_wait": "预计等待约",
    "acd_minutes": "分钟",
    "acd_enter": "您已进入排队，请稍候。",
    "acd_no_agents": "对不起，现在没有坐席值班，请稍后再拨。",
    "acd_full": "对不起，排队人数已满，请稍后再拨。",
    "acd_voicemail": "请在提示音后留言，按井号结束。",
    "acd_callback": "您的回电请求已登记，轮到您时我们会给您回电。",
    "acd_offer": "留言请按1，需要回电请按2，继续等待请不要按键。",
    "acd_timeout": "对不起，等待时间过长，请稍后再拨。",
    "acd_survey": "请为本次服务打分，非常满意请按5，非常不满意请按1。",
    "acd_thanks": "感谢您的评价，再见。",
}


def position_text(ahead: int, wait_seconds: int | None, locale: str = "zh_CN") -> str:
    """``您前面还有3位`` / ``there are 3 callers ahead of you`` (+ the expected wait when given)."""
    texts = TEXTS.get(locale, TEXTS["en"])
    if ahead <= 0:
        text = texts["next"]
    elif ahead == 1 and "ahead_one" in texts:
        text = texts["ahead_one"]
    else:
        text = texts["ahead"].format(n=ahead)
    if wait_seconds is not None:
        minutes = int(math.ceil(wait_seconds / 60))
        if wait_seconds < 60:
            text += texts["wait_short"]
        elif minutes == 1 and "wait_one" in texts:
            text += texts["wait_one"]
        else:
            text += texts["wait"].format(m=minutes)
    return text


def position_parts(ahead: int, wait_seconds: int | None) -> list[tuple[str, Any]]:
    """The spoken form: ("prompt", id) and ("number", n) parts, in order."""
    parts: list[tuple[str, Any]] = []
    if ahead <= 0:
        parts.append(("prompt", "acd_next"))
    else:
        parts += [("prompt", "acd_ahead"), ("number", ahead), ("prompt", "acd_callers")]
    if wait_seconds is not None:
        parts += [("prompt", "acd_wait"), ("number", max(1, int(math.ceil(wait_seconds / 60)))), ("prompt", "acd_minutes")]
    return parts


def survey_score(key: str) -> int | None:
    return int(key) if key in ("1", "2", "3", "4", "5") else None
