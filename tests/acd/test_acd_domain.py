"""The ACD's pure rules, table-driven: line order, strategies and ties, skills, overflow timing, the
no-agents policy, heartbeats, announcements, queue definitions, agent state changes."""

from __future__ import annotations

import pytest

from cc.domain import acd
from cc.domain.acd import Agent, Queue, WaitingCall

NOW = 1_000_000.0


def agent(user, skills=None, idle=0.0, state="ready", hb=NOW, group=""):
    return Agent(user=user, state=state, skills=skills if skills is not None else {"orders": 5}, heartbeat=hb,
                 idle_since=idle, group=group)


def q(**kw):
    kw.setdefault("name", "orders")
    kw.setdefault("service", "orders")
    return Queue(**kw)


# --- order of callers ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "calls, expected",
    [
        # arrival order
        ([(1, 10.0, 0), (2, 5.0, 0), (3, 7.0, 0)], [2, 3, 1]),
        # VIP (priority 10) overtakes earlier normal callers
        ([(1, 1.0, 0), (2, 2.0, 0), (3, 3.0, 10)], [3, 1, 2]),
        # two VIPs keep their own arrival order
        ([(1, 4.0, 10), (2, 3.0, 10), (3, 1.0, 0)], [2, 1, 3]),
        # a supervisor's priority 20 beats VIP 10; negative priority goes last
        ([(1, 1.0, 10), (2, 9.0, 20), (3, 0.0, -1), (4, 5.0, 0)], [2, 1, 4, 3]),
        # same arrival: id decides
        ([(5, 1.0, 0), (4, 1.0, 0)], [4, 5]),
    ],
)
def test_line_order(calls, expected):
    line = [WaitingCall(id=i, queue="orders", entered=t, priority=p) for i, t, p in calls]
    assert [c.id for c in acd.order_line(line)] == expected


def test_position_counts_only_the_same_queue():
    line = [WaitingCall(1, "orders", 1.0), WaitingCall(2, "complaints", 0.5), WaitingCall(3, "orders", 2.0),
            WaitingCall(4, "orders", 3.0, priority=10)]
    assert acd.position(line[2], line) == 2  # the VIP and caller 1
    assert acd.position(line[3], line) == 0
    assert acd.position(line[1], line) == 0


# --- strategies --------------------------------------------------------------------------------------

STRATEGY_CASES = [
    # strategy, agents (user, level, idle_since), expected
    ("longest_idle", [("a", 5, 300.0), ("b", 9, 100.0), ("c", 1, 200.0)], "b"),
    ("highest_skill", [("a", 5, 300.0), ("b", 9, 100.0), ("c", 1, 200.0)], "b"),
    ("highest_skill", [("a", 5, 100.0), ("b", 9, 300.0), ("c", 1, 200.0)], "b"),
    ("lowest_skill", [("a", 5, 300.0), ("b", 9, 100.0), ("c", 1, 200.0)], "c"),
    # ties on level go to the longest idle
    ("highest_skill", [("a", 9, 300.0), ("b", 9, 100.0), ("c", 1, 50.0)], "b"),
    ("lowest_skill", [("a", 2, 300.0), ("b", 2, 100.0), ("c", 5, 50.0)], "b"),
    # full tie: user name
    ("longest_idle", [("b", 5, 100.0), ("a", 5, 100.0)], "a"),
    ("highest_skill", [("zz", 7, 100.0), ("yy", 7, 100.0)], "yy"),
]


@pytest.mark.parametrize("strategy, agents, expected", STRATEGY_CASES)
def test_strategies(strategy, agents, expected):
    queue = q(strategy=strategy)
    pool = [agent(u, {"orders": lvl}, idle=idle) for u, lvl, idle in agents]
    choice = acd.choose_agent(queue, pool, waited=0, now=NOW, stale_after=60)
    assert choice is not None and choice.agent == expected and choice.tier == "primary"


@pytest.mark.parametrize(
    "state, hb, stale_after, offered",
    [
        ("ready", NOW, 60, True),
        ("ready", NOW - 60, 60, True),
        ("ready", NOW - 61, 60, False),  # stale heartbeat
        ("ready", None, 60, False),  # never sent one
        ("ready", None, 0, True),  # heartbeat check off
        ("paused", NOW, 60, False),
        ("ringing", NOW, 60, False),
        ("on_call", NOW, 60, False),
        ("wrap_up", NOW, 60, False),
        ("away", NOW, 60, False),
        ("offline", NOW, 60, False),
    ],
)
def test_only_ready_and_fresh_agents_are_offered(state, hb, stale_after, offered):
    choice = acd.choose_agent(q(), [agent("a", state=state, hb=hb)], 0, NOW, stale_after)
    assert (choice is not None) is offered


def test_stale_agent_skipped_for_a_fresh_one():
    pool = [agent("old", idle=0.0, hb=NOW - 500), agent("new", idle=900.0)]
    assert acd.choose_agent(q(), pool, 0, NOW, 60).agent == "new"


# --- skills and overflow -----------------------------------------------------------------------------

OVERFLOW = q(overflow_after=30, backup_skills=("changes",), min_level=3)


@pytest.mark.parametrize(
    "skills, waited, expected",
    [
        ({"orders": 5}, 0, ("primary", 5)),
        ({"orders": 2}, 0, None),  # below min_level
        ({"orders": 2}, 40, None),  # and not a backup skill either
        ({"changes": 4}, 29.9, None),  # backup agents only after overflow_after
        ({"changes": 4}, 30, ("backup", 4)),
        ({"complaints": 9}, 100, None),
        ({"orders": 3, "changes": 9}, 0, ("primary", 3)),
    ],
)
def test_tier(skills, waited, expected):
    assert acd.tier(agent("a", skills), OVERFLOW, waited) == expected


def test_any_backup_skill():
    queue = q(overflow_after=10, backup_skills=("*",))
    assert acd.tier(agent("a", {"complaints": 2}), queue, 10) == ("backup", 2)
    assert acd.tier(agent("a", {}), queue, 10) == ("backup", 0)


def test_primary_agents_come_before_backup_agents():
    pool = [agent("backup", {"changes": 10}, idle=0.0), agent("primary", {"orders": 3}, idle=999.0)]
    choice = acd.choose_agent(OVERFLOW, pool, waited=500, now=NOW, stale_after=60)
    assert choice == acd.Choice("primary", "primary", 3)
    choice = acd.choose_agent(OVERFLOW, pool[:1], waited=500, now=NOW, stale_after=60)
    assert choice == acd.Choice("backup", "backup", 10)


def test_assignments_follow_the_line_and_never_double_book():
    queues = {"orders": q(), "complaints": q(name="complaints", service="complaints")}
    calls = [WaitingCall(1, "orders", 1.0), WaitingCall(2, "orders", 2.0), WaitingCall(3, "complaints", 0.5),
             WaitingCall(4, "orders", 3.0, priority=10)]
    pool = [agent("a", {"orders": 5, "complaints": 5}, idle=10.0), agent("b", {"orders": 5}, idle=20.0)]
    got = [(c.id, ch.agent) for c, ch in acd.assignments(calls, pool, queues, NOW, 60)]
    assert got == [(4, "a"), (1, "b")]  # the complaint caller finds no complaints agent left
    assert len({a for _, a in got}) == len(got)


def test_assignment_skips_a_head_without_agents_for_a_later_backup_caller():
    queues = {"orders": OVERFLOW}
    calls = [WaitingCall(1, "orders", NOW - 5, priority=10), WaitingCall(2, "orders", NOW - 40)]
    got = acd.assignments(calls, [agent("x", {"changes": 5})], queues, NOW, 60)
    assert [(c.id, ch.agent, ch.tier) for c, ch in got] == [(2, "x", "backup")]


@pytest.mark.parametrize(
    "on_max_wait, max_wait, waited, offers, expected",
    [
        ("voicemail", 0, 10_000, 0, None),  # no max wait
        ("voicemail", 120, 119, 0, None),
        ("voicemail", 120, 120, 0, "voicemail"),
        ("callback", 120, 500, 0, "callback"),
        ("timeout", 60, 61, 0, "timeout"),
        ("offer", 60, 61, 0, "offer"),
        ("offer", 60, 61, 1, None),  # offered once; again after another max_wait
        ("offer", 60, 120, 1, "offer"),
    ],
)
def test_max_wait(on_max_wait, max_wait, waited, offers, expected):
    assert acd.max_wait_action(q(max_wait=max_wait, on_max_wait=on_max_wait), waited, offers) == expected


@pytest.mark.parametrize(
    "policy, agents, expected",
    [
        ("wait", [], None),
        ("voicemail", [], "voicemail"),
        ("message", [], "message"),
        ("voicemail", [agent("a", state="offline")], "voicemail"),
        ("voicemail", [agent("a", state="paused")], None),  # logged in, just not ready
        ("voicemail", [agent("a", hb=NOW - 1000)], "voicemail"),  # stale: not really there
        ("voicemail", [agent("a", {"complaints": 9})], "voicemail"),  # no skill for this queue
    ],
)
def test_no_agents_policy(policy, agents, expected):
    assert acd.no_agent_action(q(no_agents=policy), agents, NOW, 60) == expected


# --- announcements -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "ahead, wait, locale, text",
    [
        (3, None, "zh_CN", "您前面还有3位"),
        (0, None, "zh_CN", "您是下一位"),
        (3, 150, "zh_CN", "您前面还有3位，预计等待约3分钟"),
        (2, 30, "zh_CN", "您前面还有2位，预计等待不到1分钟"),
        (3, None, "en", "there are 3 callers ahead of you"),
        (1, None, "en", "there is 1 caller ahead of you"),
        (0, 60, "en", "you are next, expected wait about 1 minute"),
        (4, 600, "en", "there are 4 callers ahead of you, expected wait about 10 minutes"),
    ],
)
def test_position_text(ahead, wait, locale, text):
    assert acd.position_text(ahead, wait, locale) == text


def test_position_parts():
    assert acd.position_parts(3, None) == [("prompt", "acd_ahead"), ("number", 3), ("prompt", "acd_callers")]
    assert acd.position_parts(0, 90)[-2:] == [("number", 2), ("prompt", "acd_minutes")]


@pytest.mark.parametrize(
    "every, waited, last, due",
    [(30, 29, None, False), (30, 30, None, True), (30, 50, 30, False), (30, 60, 30, True), (0, 999, None, False)],
)
def test_announcement_due(every, waited, last, due):
    assert acd.announcement_due(q(announce_every=every), waited, last) is due


@pytest.mark.parametrize("ahead, avg, agents, seconds", [(0, 180, 1, 180), (3, 180, 2, 360), (2, 100, 0, 300)])
def test_expected_wait(ahead, avg, agents, seconds):
    assert acd.expected_wait(ahead, avg, agents) == seconds


# --- definitions and agent commands ------------------------------------------------------------------

def test_queue_from_dict_full():
    queue = acd.queue_from_dict("orders", {
        "label": "订奶", "service": "orders", "strategy": "highest_skill", "ring_seconds": 20, "recording": True,
        "announce": {"every_seconds": 20, "expected_wait": True},
        "overflow": {"after_seconds": 60, "backup_skills": ["changes"], "max_wait_seconds": 300, "then": "callback"},
        "no_agents": "voicemail",
    })
    assert (queue.strategy, queue.ring_seconds, queue.overflow_after, queue.on_max_wait) == ("highest_skill", 20, 60, "callback")
    assert acd.queue_from_dict("orders", acd.queue_to_dict(queue)) == queue


@pytest.mark.parametrize(
    "body, message",
    [
        ({"strategy": "random"}, "strategy must be one of"),
        ({"ring_seconds": 0}, "ring_seconds must be a whole number"),
        ({"recording": "yes"}, "recording must be true or false"),
        ({"colour": "red"}, "unknown key(s) colour"),
        ({"overflow": {"after_seconds": 10}}, "needs overflow.backup_skills"),
        ({"overflow": {"then": "pray"}}, "overflow.then must be one of"),
        ({"no_agents": "cry"}, "no_agents must be one of"),
        ({"announce": {"often": 1}}, "unknown announce key(s) often"),
    ],
)
def test_queue_rules(body, message):
    with pytest.raises(acd.AcdRuleError, match="queue 'x'") as err:
        acd.queue_from_dict("x", body)
    assert message in str(err.value)


@pytest.mark.parametrize("text, parsed", [("orders:7", ("orders", 7)), ("order changes:10", ("order changes", 10))])
def test_parse_skill(text, parsed):
    assert acd.parse_skill(text) == parsed


@pytest.mark.parametrize("text", ["orders", "orders:0", "orders:11", ":5", "orders:x"])
def test_parse_skill_bad(text):
    with pytest.raises(acd.AcdRuleError):
        acd.parse_skill(text)


@pytest.mark.parametrize(
    "command, state, result",
    [
        ("login", "offline", "ready"), ("login", "ready", None), ("ready", "paused", "ready"), ("ready", "wrap_up", "ready"),
        ("pause", "ready", "paused"), ("away", "paused", "away"), ("logout", "away", "offline"), ("ready", "offline", None),
        ("pause", "on_call", None), ("logout", "ringing", None),
    ],
)
def test_manual_changes(command, state, result):
    if result is None:
        with pytest.raises(acd.AcdRuleError):
            acd.manual_change(command, state)
    else:
        assert acd.manual_change(command, state) == result


def test_order_line_matches_the_key_on_random_lines():
    import random

    rng = random.Random(3)
    for _ in range(50):
        line = [WaitingCall(i, "orders", float(rng.randint(0, 20)), rng.choice([0, 0, 10, 20, -1])) for i in range(60)]
        rng.shuffle(line)
        assert acd.order_line(line) == sorted(line, key=acd.line_key)


def test_overflow_queue_rules():
    good = acd.queues_from_dict({"queues": {"a": {"overflow": {"max_wait_seconds": 5, "then": "queue", "queue": "b"}}, "b": {}}})
    assert good["a"].overflow_queue == "b" and acd.queue_from_dict("a", acd.queue_to_dict(good["a"])) == good["a"]
    with pytest.raises(acd.AcdRuleError, match="needs overflow.queue"):
        acd.queue_from_dict("a", {"overflow": {"then": "queue"}})
    with pytest.raises(acd.AcdRuleError, match="not defined"):
        acd.queues_from_dict({"queues": {"a": {"overflow": {"then": "queue", "queue": "zz"}}}})
