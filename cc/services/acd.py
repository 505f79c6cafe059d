"""The ACD's use cases: agents and their states, queue definitions, callers entering and leaving queues,
the dispatcher that gives a ready agent to the caller at the head of the line, and the call's outcome
(answered, no answer, finished, survey, recording).

The store is passed in (``cc.store.acd.AcdStore`` over one connection per thread). Every read-then-write
runs in ``store.transaction()`` (BEGIN IMMEDIATE): the claim of an agent for a call happens with the
write lock held, so one agent never gets two calls and one call never two agents, whatever the number of
dispatching processes.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cc.clock import Clock
from cc.domain import acd
from cc.domain.timestamps import iso, parse_iso
from cc.errors import NotFound, PermissionDenied, Refused, UsageError

AGENT_ROLES = ("agent", "expert", "supervisor")
SUPERVISING_ROLES = ("admin", "supervisor")
CALLBACK_CLAIM = 30  # seconds: an agent claimed for a call back nobody started calling is freed again
LONGEST_OUTBOUND = 4 * 3600  # seconds: a click-to-dial call whose end was never reported frees the agent after this


@functools.lru_cache(maxsize=65_536)
def _ts(text: str) -> float:
    """POSIX seconds of a stored timestamp (cached: the dispatcher sees the same rows again and again)."""
    return parse_iso(text).timestamp()


@dataclass
class AcdSettings:
    stale_after: float = 60.0  # seconds without a heartbeat before an agent is never offered a call (0: off)
    locale: str = "zh_CN"
    handler_lease: float = 0.0  # seconds without a sign of life before a waiting caller is taken out (0: never)
    expert_group: str = "expert"  # the agent group call control's "expert" target rings (the expert seat)
    outbound_wrap_up: int = 10  # seconds of wrap-up after a click-to-dial call (0: ready at once)
    callbacks: bool = False  # the ACD makes call backs itself when their turn comes (a caller-back runs)
    callback_max_attempts: int = 3  # calls to the customer before a call back is given up
    callback_retry_seconds: int = 300  # wait before calling a customer again who did not answer


@dataclass(frozen=True)
class Entry:
    """A caller's attempt to enter a queue: ``waiting_id`` when admitted, else ``refused`` (the exit
    reason already written: blocked, no_agents) and ``action`` (what the channel should do: voicemail,
    message, hangup)."""

    queue: acd.Queue
    waiting_id: int | None
    refused: str | None = None
    action: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class WaitView:
    """What a waiting caller's handler needs on each tick."""

    waiting_id: int
    status: str  # waiting | ringing | connected | callback | gone
    queue: str
    waited: float  # seconds since entering
    ahead: int = 0
    agent: str | None = None
    dial: str = ""
    tier: str | None = None
    expected_wait: int | None = None
    serving: int = 0  # logged-in agents who could take the call
    no_agents: str | None = None  # the queue's no-agents action when none is logged in now
    divert: str | None = None  # a supervisor's instruction for the handler: "voicemail"
    divert_by: str = ""


class AcdService:
    def __init__(self, store: Any, clock: Clock, settings: AcdSettings | None = None, acting_user: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings or AcdSettings()
        self.acting_user = acting_user  # None: the site operator (CLI without --user) or the telephony server
        self._queues: tuple[tuple, dict[str, acd.Queue]] | None = None
        self._lock = threading.Lock()
        self._last_expiry = 0.0

    # -- helpers ---------------------------------------------------------------------------------------

    def _now(self) -> tuple[datetime, str, float]:
        now = self.clock.now()
        return now, iso(now), now.timestamp()

    @staticmethod
    def _secs(text: str | None) -> float | None:
        return parse_iso(text).timestamp() if text else None

    @staticmethod
    def _agent(row: dict) -> acd.Agent:
        hb = row.get("heartbeat_at")
        idle = row.get("idle_since") or row.get("state_since")
        return acd.Agent(
            user=row["user"], state=row["state"], skills=row.get("skills") or {}, group=row.get("grp") or "",
            heartbeat=_ts(hb) if hb else None, idle_since=_ts(idle) if idle else 0.0,
        )

    @staticmethod
    def _call(row: dict) -> acd.WaitingCall:
        return acd.WaitingCall(row["id"], row["queue"], _ts(row["entered_at"]), row["priority"])

    def _require(self, what: str, agent: str | None = None) -> None:
        """Supervisors and admins may manage agents and queues; an agent may change only their own state."""
        if self.acting_user is None:
            return
        me = self.store.user(self.acting_user)
        if me is None:
            raise NotFound(f"no user named '{self.acting_user}'", "see 'cc user list', or drop --user / CC_USER")
        if me["disabled"]:
            raise Refused(f"user '{self.acting_user}' is disabled", "an administrator can re-enable it")
        if me["role"] in SUPERVISING_ROLES or (agent is not None and agent == self.acting_user):
            return
        raise PermissionDenied(f"{self.acting_user} is {me['role']} and may not {what}", "ask a supervisor or an admin")

    def _require_agent(self, user: str) -> dict:
        row = self.store.agent(user)
        if row is None:
            if self.store.user(user) is None:
                raise NotFound(f"no user named '{user}'", "add the user with 'cc user add NAME --role agent' first")
            raise NotFound(f"user '{user}' is not set up as an agent", f"run 'cc agent set {user} --dial PJSIP/1001 --skill orders:5'")
        return row

    # -- queues ----------------------------------------------------------------------------------------

    def import_queues(self, data: Any, source: str = "", replace: bool = True,
                      lines: Mapping[tuple, int] | None = None) -> list[acd.Queue]:
        """Check and store queue definitions (the parsed YAML); all or nothing. ``lines``: the line of each
        key in the file (``cc.yamlfile.YamlFile.lines``), so that an error names it."""
        self._require("load queues")
        try:
            queues = acd.queues_from_dict(data)
        except acd.AcdRuleError as exc:
            at, line = exc.at, None
            while at and line is None:
                line, at = (lines or {}).get(at), at[:-1]
            where = f"{source or 'queue file'}, line {line}" if line else source or "queue file"
            raise UsageError(f"{where}: {exc}", "fix the queue file (see cc/data/queues/default.yaml)") from None
        _, now, _ = self._now()
        with self.store.transaction():
            self.store.save_queues(
                {name: json.dumps(acd.queue_to_dict(q), ensure_ascii=False) for name, q in queues.items()},
                source, now, replace,
            )
        self._queues = None
        return list(queues.values())

    def queues(self) -> dict[str, acd.Queue]:
        version = self.store.queues_version()
        with self._lock:
            if self._queues is None or self._queues[0] != version:
                loaded = {r["name"]: acd.queue_from_dict(r["name"], json.loads(r["definition"])) for r in self.store.queue_rows()}
                self._queues = (version, loaded)
            return self._queues[1]

    def queue(self, name: str) -> acd.Queue:
        found = self.queues().get(name)
        if found is None:
            known = ", ".join(self.queues()) or "none loaded"
            raise NotFound(f"no queue named '{name}' (queues: {known})", "load queues with 'cc queue import FILE'")
        return found

    def queue_status(self, name: str | None = None) -> list[dict]:
        """Each queue with its callers in line (position, wait, status, agent)."""
        _, _, now_s = self._now()
        names = [self.queue(name).name] if name else list(self.queues())
        rows = self.store.waiting_rows(("waiting", "ringing", "connected", "callback"))
        line = acd.order_line(self._call(r) for r in rows if r["status"] in ("waiting", "callback"))
        order = {c.id: i for i, c in enumerate(line)}
        out = []
        for qname in names:
            mine = [r for r in rows if r["queue"] == qname]
            mine.sort(key=lambda r: (r["status"] not in ("waiting", "callback"), order.get(r["id"], 0)))
            callers = []
            for r in mine:
                call = self._call(r)
                ahead = acd.position(call, line) if r["status"] in ("waiting", "callback") else None
                callers.append({
                    "waiting_id": r["id"], "call_id": r["call_id"], "caller": r["caller"], "vip": bool(r["vip"]),
                    "priority": r["priority"], "status": r["status"], "ahead": ahead, "agent": r["agent"],
                    "waited_seconds": round(now_s - call.entered, 1), "attempts": r["attempts"],
                    "divert": r.get("divert"),  # voicemail (a supervisor's), transfer, calling (a call back)
                })
            out.append({"queue": acd.queue_to_dict(self.queue(qname)) | {"name": qname}, "callers": callers})
        return out

    # -- agents ----------------------------------------------------------------------------------------

    def set_agent(self, user: str, dial: str, skills: Iterable[str], group: str = "") -> dict:
        """Create or change an agent: dial string, skills (SERVICE:LEVEL), group. Keeps the live state."""
        self._require("set up agents")
        account = self.store.user(user)
        if account is None:
            raise NotFound(f"no user named '{user}'", "add the user with 'cc user add NAME --role agent' first")
        if account["role"] not in AGENT_ROLES:
            raise Refused(f"user '{user}' has role {account['role']}", "only staff users can take calls")
        dial = (dial or "").strip()
        if not dial or "/" not in dial or any(c in dial for c in ",;()\n\r|"):
            raise UsageError(f"dial string {dial!r} is not usable", "give a channel such as PJSIP/1001 or PJSIP/13800138000@trunk")
        parsed: dict[str, int] = {}
        for text in skills:
            try:
                service, level = acd.parse_skill(text)
            except acd.AcdRuleError as exc:
                raise UsageError(str(exc), "write --skill SERVICE:LEVEL with a level from 1 to 10, e.g. orders:7") from None
            parsed[service] = level
        if not parsed:
            raise UsageError(f"agent '{user}' needs at least one skill", "add --skill SERVICE:LEVEL, e.g. --skill orders:5")
        _, now, _ = self._now()
        with self.store.transaction():
            self.store.upsert_agent(user, dial, group.strip(), parsed, now)
        return self.agent_view(user)

    def change_state(self, user: str, command: str, reason: str = "") -> dict:
        """``login``, ``ready``, ``pause`` (with a reason code), ``away``, ``logout``."""
        self._require(f"{command} another agent", agent=user)
        if command == "pause" and not reason.strip():
            raise UsageError("a pause needs a reason code", "e.g. cc agent pause wang lunch")
        self._change(user, command, reason, acd.manual_change)
        return self.agent_view(user)

    def _change(self, user: str, command: str, reason: str, rule: Any, by: str = "") -> None:
        """Move an agent by ``command`` as ``rule`` (manual_change / forced_change) allows; ``by``: the
        supervisor forcing it (named in the event and the action log)."""
        _, now, _ = self._now()
        with self.store.transaction():
            row = self._require_agent(user)
            try:
                target = rule(command, row["state"])
            except acd.AcdRuleError as exc:
                raise Refused(f"agent '{user}': {exc}", "see 'cc agent list' for the agents' states") from None
            extra: dict[str, Any] = {"wrap_until": None}
            if command == "login":
                extra["idle_since"] = now
                extra["heartbeat_at"] = now
            why = reason.strip() if target == "paused" else ""
            self.store.set_state(user, target, now, reason=why, extra=extra, by=by)
            if by:
                self._action(now, f"force_{acd.FORCED[command]}", by, agent=user,
                             detail=f"{row['state']} -> {target}" + (f" ({why})" if why else ""))

    def heartbeat(self, user: str) -> None:
        _, now, _ = self._now()
        if not self.store.heartbeat(user, now):
            self._require_agent(user)

    def release_wrap_ups(self) -> list[str]:
        """Agents whose wrap-up has ended become ready (done by the dispatcher and by listings)."""
        _, now, _ = self._now()
        with self.store.transaction():
            return self._release_wrap_ups(now)

    def _release_wrap_ups(self, now: str) -> list[str]:
        released = []
        for user in self.store.due_wrap_ups(now):
            if self.store.set_state(user, "ready", now, expect=("wrap_up",), extra={"wrap_until": None}):
                released.append(user)
        return released

    def agent_view(self, user: str) -> dict:
        row = self._require_agent(user)
        return self._view(row, self.clock.now())

    def _view(self, row: dict, now: datetime) -> dict:
        since = parse_iso(row["state_since"])
        hb = row.get("heartbeat_at")
        stale = self.settings.stale_after
        fresh = stale <= 0 or (hb is not None and (now - parse_iso(hb)).total_seconds() <= stale)
        return {
            "user": row["user"], "state": row["state"], "reason": row["reason"], "dial": row["dial"],
            "group": row["grp"], "skills": dict(sorted(row.get("skills", {}).items())),
            "state_since": row["state_since"], "seconds_in_state": max(0, int((now - since).total_seconds())),
            "heartbeat_at": hb, "heartbeat_fresh": fresh, "waiting_id": row["waiting_id"],
            "expert": bool(row["grp"]) and row["grp"] == self.settings.expert_group,
            "home_group": row.get("home_grp"),
        }

    def agents(self) -> list[dict]:
        self.release_wrap_ups()
        now = self.clock.now()
        return [self._view(row, now) for row in self.store.agents()]

    def agent_events(self, user: str, limit: int = 50) -> list[dict]:
        self._require_agent(user)
        return self.store.agent_events(user, limit)

    # -- callers ---------------------------------------------------------------------------------------

    def enter(self, call_id: str, queue_name: str, caller: str = "", *, vip: bool = False, blacklisted: bool = False) -> Entry:
        """A caller asks for a queue: refused (blocked, full, no agents) or admitted with a waiting row."""
        queue = self.queue(queue_name)
        _, now, now_s = self._now()
        with self.store.transaction():
            if blacklisted:
                self._exit(None, call_id, queue.name, caller, "blocked", now, detail="blacklisted caller")
                return Entry(queue, None, "blocked", "hangup", "blacklisted caller")
            if queue.max_waiting and self.store.count_waiting(queue.name) >= queue.max_waiting:
                self._exit(None, call_id, queue.name, caller, "blocked", now, detail="queue full")
                return Entry(queue, None, "blocked", "full", "queue full")
            agents = [self._agent(r) for r in self.store.agents()]
            action = acd.no_agent_action(queue, agents, now_s, self.settings.stale_after)
            if action is not None:
                self._exit(None, call_id, queue.name, caller, "no_agents", now, detail=f"no agent logged in; {action}")
                return Entry(queue, None, "no_agents", action, "no agent logged in")
            waiting_id = self.store.add_waiting(call_id, queue.name, caller, vip, acd.entry_priority(queue, vip), now)
        return Entry(queue, waiting_id)

    def _exit(self, waiting_id: int | None, call_id: str, queue: str, caller: str, reason: str, now: str, *,
              agent: str | None = None, waited_ms: int = 0, position: int | None = None, detail: str = "") -> int:
        return self.store.add_exit({
            "waiting_id": waiting_id, "call_id": call_id, "queue": queue, "caller": caller, "reason": reason,
            "agent": agent, "waited_ms": waited_ms, "position": position, "at": now, "detail": detail,
        })

    def dispatch(self, limit: int | None = None) -> list[tuple[int, str]]:
        """Give ready agents to the callers at the head of the line: (waiting id, agent) per claim.

        Takes the write lock only when something might be dispatched (a cheap read first)."""
        now_dt, now, now_s = self._now()
        if self.settings.handler_lease > 0 and now_s - self._last_expiry >= min(5.0, self.settings.handler_lease / 3):
            self._last_expiry = now_s
            self.expire_gone()
        callbacks = self.settings.callbacks
        if not self.store.anything_to_dispatch(now, callbacks):
            return []
        claimed: list[tuple[int, str]] = []
        with self.store.transaction():
            self._release_wrap_ups(now)
            calls = [acd.WaitingCall(i, q, _ts(t), p) for i, q, t, p in self.store.line(now, callbacks)]
            if not calls:
                return claimed
            agents = [self._agent(r) for r in self.store.agents(("ready",))]
            for call, choice in acd.assignments(calls, agents, self.queues(), now_s, self.settings.stale_after, limit):
                if self.store.claim(call.id, choice.agent, choice.tier, now):
                    claimed.append((call.id, choice.agent))
                else:  # cannot happen under the write lock; never leave half a claim
                    raise RuntimeError(f"claim of {choice.agent} for waiting call {call.id} missed under the lock")
        return claimed

    def expire_gone(self) -> list[dict]:
        """Take out callers whose handler died (no sign of life for ``handler_lease`` seconds, or an
        agent rung far longer than the queue's ring time) and free agents left ringing or on a call
        that no longer exists. Each caller taken out gets an exit ("error")."""
        lease = self.settings.handler_lease
        if lease <= 0:
            return []
        now_dt, now, now_s = self._now()
        seen_before = iso(now_dt - timedelta(seconds=lease))
        offered_before = iso(now_dt - timedelta(seconds=lease + 60))
        outbound_before = iso(now_dt - timedelta(seconds=LONGEST_OUTBOUND))
        out = self._expire_callbacks(now_dt, seen_before) if self.settings.callbacks else []
        if not self.store.anything_gone(seen_before, offered_before, outbound_before):
            return out
        with self.store.transaction():
            for row in self.store.gone_rows(seen_before, offered_before):
                queue = self.queues().get(row["queue"])
                if row["status"] == "ringing" and queue and row["offered_at"] > iso(now_dt - timedelta(seconds=queue.ring_seconds + lease)):
                    continue
                if row["status"] == "connected":  # the handler died mid-conversation: free the agent
                    why = f"the call's handler showed no sign of life for {lease:g} s"
                    if row["agent"]:
                        self._release(row["agent"], row["id"], row["call_id"], self._wrap_seconds(row["queue"]), now_dt,
                                      reason="handler lost")
                    self.store.delete_waiting(row["id"])
                    self._action(now, "release", "", agent=row["agent"], waiting_id=row["id"], call_id=row["call_id"],
                                 queue=row["queue"], detail=why)
                    out.append(row)
                    continue
                if row["status"] == "ringing" and row["agent"]:
                    self.store.set_state(row["agent"], "ready", now, reason="", expect=("ringing",), call_id=row["call_id"])
                self.store.delete_waiting(row["id"])
                waited = int((now_s - _ts(row["entered_at"])) * 1000)
                self._exit(row["id"], row["call_id"], row["queue"], row["caller"], "error", now, waited_ms=waited,
                           detail=f"the caller's handler showed no sign of life ({row['status']})")
                out.append(row)
            for user in self.store.orphan_agents(outbound_before):
                self.store.set_state(user, "ready", now, reason="", expect=("ringing", "on_call"),
                                     extra={"wrap_until": None, "idle_since": now})
                self._action(now, "release", "", agent=user, detail="ringing or on a call that no longer exists")
        return out

    def _expire_callbacks(self, now_dt: datetime, seen_before: str) -> list[dict]:
        """Call backs whose claimed agent no caller-back took within CALLBACK_CLAIM seconds, or whose
        caller-back died: the agent is freed, the call back waits for its turn again."""
        claimed_before = iso(now_dt - timedelta(seconds=CALLBACK_CLAIM))
        if not self.store.stale_callbacks(claimed_before, seen_before):
            return []
        now = iso(now_dt)
        with self.store.transaction():
            rows = self.store.stale_callbacks(claimed_before, seen_before)
            for row in rows:
                self._release(row["agent"], row["id"], row["call_id"], 0, now_dt)
                self.store.update_waiting(row["id"], "callback", agent=None, tier=None, divert=None, divert_by=None)
                self._action(now, "callback", "", agent=row["agent"], waiting_id=row["id"], call_id=row["call_id"],
                             queue=row["queue"], outcome="lost",
                             detail="nobody made the call back" if row["divert"] is None else "the caller-back stopped")
        return rows

    def take_callbacks(self) -> list[dict]:
        """The call backs an agent was claimed for (by ``dispatch``): now being called, one more attempt.
        Each row carries ``agent_dial``."""
        _, now, _ = self._now()
        with self.store.transaction():
            return self.store.take_callbacks(now)

    def callback_alive(self, waiting_id: int) -> None:
        """The caller-back making this call back is alive (its lease)."""
        _, now, _ = self._now()
        self.store.touch(waiting_id, now)

    def callback_agent_answered(self, waiting_id: int) -> None:
        _, now, _ = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is not None and row["agent"]:
                self.store.set_state(row["agent"], "on_call", now, expect=("ringing",), waiting_id=waiting_id,
                                     call_id=row["call_id"], reason="call back")

    def callback_outcome(self, waiting_id: int, outcome: str, detail: str = "") -> dict:
        """The call back's result: ``answered`` (done: the caller's place is released), ``agent_no_answer``
        (the agent is paused "no answer"; the call back keeps its turn, the attempt is not counted), or
        the customer not reached (``no_answer``, ``busy``, ``failed``...: tried again after
        ``callback_retry_seconds``, given up after ``callback_max_attempts``)."""
        now_dt, now, _ = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None or row["status"] != "callback":
                return {"waiting_id": waiting_id, "status": "gone"}
            agent = row["agent"]
            attempts = row["cb_attempts"]
            if outcome == "agent_no_answer":
                if agent:
                    self.store.set_state(agent, "paused", now, reason=acd.NO_ANSWER_REASON, expect=("ringing",),
                                         call_id=row["call_id"])
                attempts -= 1
                self.store.update_waiting(waiting_id, "callback", agent=None, tier=None, divert=None, divert_by=None,
                                          cb_attempts=attempts)
                status = "waiting"
            else:
                if agent:
                    self._release(agent, waiting_id, row["call_id"], self._wrap_seconds(row["queue"]), now_dt)
                if outcome == "answered":
                    status = "done"
                elif attempts >= self.settings.callback_max_attempts:
                    status = "failed"
                else:
                    status = "retry"
                if status in ("done", "failed"):
                    self.store.delete_waiting(waiting_id)
                else:
                    self.store.update_waiting(
                        waiting_id, "callback", agent=None, tier=None, divert=None, divert_by=None,
                        cb_next_at=iso(now_dt + timedelta(seconds=self.settings.callback_retry_seconds)))
            self._action(now, "callback", "", agent=agent, waiting_id=waiting_id, call_id=row["call_id"],
                         queue=row["queue"], outcome=outcome,
                         detail=f"attempt {attempts}: {status}" + (f" ({detail})" if detail else ""))
        return {"waiting_id": waiting_id, "caller": row["caller"], "agent": agent, "outcome": outcome,
                "status": status, "attempts": attempts}

    def poll(self, waiting_id: int) -> WaitView:
        """The caller's place now: status, callers ahead, expected wait, the agent when one was given.
        Also the handler's sign of life (``seen_at``)."""
        row = self.store.waiting(waiting_id)
        now_dt, now, now_s = self._now()
        if row is None:
            return WaitView(waiting_id, "gone", "", 0.0)
        lease = self.settings.handler_lease
        if lease > 0 and (row.get("seen_at") or "") < iso(now_dt - timedelta(seconds=lease / 3)):
            self.store.touch(waiting_id, now)
        call = self._call(row)
        waited = now_s - call.entered
        if row["status"] in ("ringing", "connected"):
            agent = self.store.agent(row["agent"]) if row["agent"] else None
            return WaitView(waiting_id, row["status"], row["queue"], waited, 0, row["agent"],
                            agent["dial"] if agent else "", row["tier"], divert=row.get("divert"),
                            divert_by=row.get("divert_by") or "")
        queue = self.queue(row["queue"])
        line = [self._call(r) for r in self.store.waiting_rows(("waiting", "callback"), queue.name)]
        ahead = acd.position(call, line)
        agents = [self._agent(r) for r in self.store.agents()]
        serving = sum(1 for a in agents if acd.logged_in(a, now_s, self.settings.stale_after) and acd.could_serve(a, queue))
        no_agents = acd.no_agent_action(queue, agents, now_s, self.settings.stale_after)
        expected = acd.expected_wait(ahead, queue.average_handle_seconds, serving) if queue.announce_wait else None
        return WaitView(waiting_id, row["status"], queue.name, waited, ahead, expected_wait=expected, serving=serving,
                        no_agents=no_agents, divert=row.get("divert"), divert_by=row.get("divert_by") or "")

    def answered(self, waiting_id: int) -> dict:
        """The agent answered: agent on_call, the caller leaves the queue ("answered")."""
        _, now, now_s = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None or row["status"] not in ("ringing", "connected"):
                raise Refused(f"waiting call {waiting_id} is not ringing an agent")
            if row["status"] == "connected":
                return row
            self.store.update_waiting(waiting_id, "ringing", status="connected", answered_at=now)
            self.store.set_state(row["agent"], "on_call", now, expect=("ringing",), waiting_id=waiting_id, call_id=row["call_id"])
            waited = int((now_s - self._call(row).entered) * 1000)
            self._exit(waiting_id, row["call_id"], row["queue"], row["caller"], "answered", now, agent=row["agent"],
                       waited_ms=waited, position=0, detail=row["tier"] or "")
        return {**row, "status": "connected", "answered_at": now}

    def not_answered(self, waiting_id: int, dial_status: str = "NOANSWER") -> None:
        """The agent did not answer: paused ("no answer"); the caller goes back to the head of the line
        (``entered_at`` is kept, so the caller keeps their place)."""
        _, now, _ = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None or row["status"] != "ringing":
                return
            self.store.update_waiting(waiting_id, "ringing", status="waiting", agent=None, tier=None, offered_at=None,
                                      attempts=row["attempts"] + 1)
            self.store.set_state(row["agent"], "paused", now, reason=acd.NO_ANSWER_REASON, expect=("ringing",),
                                 waiting_id=None, call_id=row["call_id"])

    def finished(self, waiting_id: int) -> str | None:
        """The conversation ended: the agent wraps up for the queue's wrap-up seconds; the row goes."""
        now_dt, now, _ = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None:
                return None
            agent = row["agent"]
            if agent and row["status"] in ("connected", "ringing"):
                self._release(agent, waiting_id, row["call_id"], self._wrap_seconds(row["queue"]), now_dt,
                              reason="transferred" if row.get("divert") == "transfer" else "")
            self.store.delete_waiting(waiting_id)
        return agent

    def _wrap_seconds(self, queue_name: str) -> int:
        queue = self.queues().get(queue_name)
        return queue.wrap_up_seconds if queue else 0

    def _release(self, agent: str, waiting_id: int | None, call_id: str, wrap: int, now_dt: datetime, *,
                 reason: str = "", by: str = "") -> bool:
        """The agent's call (``waiting_id``; None: an outbound call) is over for them: wrap-up for
        ``wrap`` seconds, or ready. Only while the agent is still ringing / on that very call, so a late
        report never ends the agent's next call."""
        row = self.store.agent(agent)
        if row is None or row["state"] not in ("on_call", "ringing") or row["waiting_id"] != waiting_id:
            return False
        now = iso(now_dt)
        if wrap > 0:
            return self.store.set_state(agent, "wrap_up", now, reason=reason, expect=("on_call", "ringing"),
                                        call_id=call_id, by=by,
                                        extra={"wrap_until": iso(now_dt + timedelta(seconds=wrap)), "idle_since": now})
        return self.store.set_state(agent, "ready", now, reason=reason, expect=("on_call", "ringing"), call_id=call_id,
                                    by=by, extra={"wrap_until": None, "idle_since": now})

    # -- calls that leave the ACD's hands: transfers, the agent's leg hanging up, click-to-dial ---------

    def transferred(self, call_id: str, agent: str = "", route: str = "", attended: bool = False, by: str = "") -> dict | None:
        """Call control transferred a call away from an agent. An ACD call is marked (the handler's call
        record then says "transferred"); a blind transfer frees the agent now (wrap-up), an attended one
        when the agent's own leg hangs up (``agent_gone``). An agent's click-to-dial call: freed likewise.
        Returns what was done, or None when the call is not the ACD's."""
        now_dt, now, _ = self._now()
        kind = "attended" if attended else "blind"
        with self.store.transaction():
            row = self.store.waiting_by_call(call_id, ("connected",))
            if row is not None:
                agent = row["agent"] or agent
                if row.get("divert") != "transfer":  # not marked beforehand (transferring)
                    self.store.update_waiting(row["id"], "connected", divert="transfer", divert_by=route)
                    self._action(now, "transfer", by, agent=agent, waiting_id=row["id"], call_id=call_id,
                                 queue=row["queue"], detail=f"{kind} to {route}")
                released = not attended and self._release(agent, row["id"], call_id, self._wrap_seconds(row["queue"]),
                                                          now_dt, reason="transferred")
                return {"waiting_id": row["id"], "agent": agent, "released": bool(released)}
            if agent and not attended and self._release(agent, None, call_id, self.settings.outbound_wrap_up, now_dt,
                                                        reason="transferred"):
                self._action(now, "transfer", by, agent=agent, call_id=call_id, detail=f"{kind} to {route} (outbound call)")
                return {"waiting_id": None, "agent": agent, "released": True}
        return None

    def transferring(self, call_id: str, route: str | None, agent: str = "", attended: bool = False, by: str = "") -> bool:
        """Mark an ACD call as being transferred to ``route`` just before call control moves the caller,
        so the handler holding the caller records a transfer, not a hang-up; logged (None: the transfer
        failed, clear the mark)."""
        _, now, _ = self._now()
        with self.store.transaction():
            row = self.store.waiting_by_call(call_id, ("connected",))
            if row is None:
                return False
            if route is None:
                self._action(now, "transfer", by, agent=row["agent"], waiting_id=row["id"], call_id=call_id,
                             queue=row["queue"], outcome="failed", detail=f"to {row['divert_by']}")
                return self.store.update_waiting(row["id"], "connected", divert=None, divert_by=None)
            self._action(now, "transfer", by, agent=row["agent"] or agent, waiting_id=row["id"], call_id=call_id,
                         queue=row["queue"], detail=f"{'attended' if attended else 'blind'} to {route}")
            return self.store.update_waiting(row["id"], "connected", divert="transfer", divert_by=route)

    def agent_gone(self, waiting_id: int | None = None, *, user: str = "", call_id: str = "") -> str | None:
        """The agent's leg of a call hung up (the hangup handler the ACD puts on the agent's channel): an
        ACD call (``waiting_id``) or a click-to-dial call (``user``). The agent wraps up; the caller's
        row is left to the handler holding the caller (it may still be talking to a transfer target)."""
        now_dt, now, _ = self._now()
        with self.store.transaction():
            if waiting_id is not None:
                row = self.store.waiting(waiting_id)
                agent = (row or {}).get("agent") or self.store.agent_on(waiting_id)
                if not agent:
                    return None
                wrap = self._wrap_seconds(row["queue"]) if row else 0
                reason = "transferred" if row and row.get("divert") == "transfer" else ""
                if row is not None and row["status"] != "connected":
                    return None  # still ringing: the handler's Dial decides (answered / no answer)
                return agent if self._release(agent, waiting_id, call_id or (row or {}).get("call_id", ""), wrap, now_dt,
                                              reason=reason) else None
            if user and self._release(user, None, call_id, self.settings.outbound_wrap_up, now_dt):
                self._action(now, "dial_end", "", agent=user, call_id=call_id)
                return user
        return None

    def dialing(self, user: str, call_id: str) -> bool:
        """Click-to-dial: the agent places an outbound call, so they are on_call (never offered an ACD
        call) until their leg hangs up (``agent_gone(user=...)``); False when the agent is offline
        (not in the ACD at all: nothing changes)."""
        _, now, _ = self._now()
        with self.store.transaction():
            row = self._require_agent(user)
            if row["state"] in ("ringing", "on_call"):
                raise Refused(f"agent '{user}' is {row['state'].replace('_', ' ')}", "dial after the current call")
            if row["state"] == "offline":
                return False
            self.store.set_state(user, "on_call", now, reason="outbound", call_id=call_id, extra={"wrap_until": None})
            self._action(now, "dial", "", agent=user, call_id=call_id, detail=f"from {row['state']}")
        return True

    def leave(self, waiting_id: int, reason: str, detail: str = "") -> dict | None:
        """The caller left the queue without an agent (abandoned, timeout, voicemail, callback...): the
        exit with the wait and the place in line; an agent being rung for them is freed."""
        if reason not in acd.EXIT_REASONS:
            raise ValueError(f"unknown exit reason {reason!r}")
        _, now, now_s = self._now()
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None:
                return None
            call = self._call(row)
            line = [self._call(r) for r in self.store.waiting_rows(("waiting", "callback"), row["queue"])]
            ahead = acd.position(call, line) if row["status"] in ("waiting", "callback") else 0
            if row["status"] == "ringing" and row["agent"]:
                self.store.set_state(row["agent"], "ready", now, reason="", expect=("ringing",), call_id=row["call_id"])
            if reason == "callback":  # keeps the place: the row stays, waiting for the call back
                self.store.update_waiting(waiting_id, None, status="callback", agent=None, tier=None)
            else:
                self.store.delete_waiting(waiting_id)
            waited = int((now_s - call.entered) * 1000)
            self._exit(waiting_id, row["call_id"], row["queue"], row["caller"], reason, now,
                       agent=row["agent"] if row["status"] == "ringing" else None, waited_ms=waited, position=ahead,
                       detail=detail)
        return {"waiting_id": waiting_id, "reason": reason, "waited_ms": waited, "position": ahead}

    def callbacks(self, queue: str | None = None) -> list[dict]:
        """Callers waiting for a call back, in line order (their place kept)."""
        rows = self.store.waiting_rows(("callback",), queue)
        line = acd.order_line(self._call(r) for r in rows)
        by_id = {r["id"]: r for r in rows}
        return [by_id[c.id] for c in line]

    def callback_done(self, waiting_id: int) -> dict:
        """A call back was made (by hand, or later by the call-control side): the caller's place is
        released. (The exit "callback" was written when the caller asked for it.)"""
        self._require("close a call back")
        with self.store.transaction():
            row = self.store.waiting(waiting_id)
            if row is None or row["status"] != "callback":
                raise NotFound(f"no call back {waiting_id} waiting", "see 'cc queue callbacks'")
            self.store.delete_waiting(waiting_id)
        return row

    def set_priority(self, waiting_id: int, priority: int) -> dict:
        """A supervisor moves a waiting caller up (or down) the line."""
        self._require("change a caller's priority")
        if not -1000 <= priority <= 1000:
            raise UsageError("priority must be from -1000 to 1000")
        with self.store.transaction():
            if not self.store.update_waiting(waiting_id, "waiting", priority=priority):
                raise NotFound(f"no caller {waiting_id} waiting in a queue", "see 'cc queue show'")
        return self.store.waiting(waiting_id)

    def record(self, call_id: str, agent: str, queue: str, file: str) -> int:
        _, now, _ = self._now()
        return self.store.add_recording(call_id, agent, queue, file, now)

    def survey(self, call_id: str, agent: str, queue: str, score: int) -> int:
        if not 1 <= score <= 5:
            raise UsageError("a survey score is 1 to 5")
        _, now, _ = self._now()
        return self.store.add_survey(call_id, agent, queue, score, now)

    def exits(self, call_id: str | None = None, queue: str | None = None, limit: int = 100) -> list[dict]:
        return self.store.exits(call_id, queue, limit)

    # -- supervisor operations -------------------------------------------------------------------------

    def _supervisor(self, by: str | None, what: str) -> str:
        """The named supervisor or admin doing ``what`` (``by``, else the acting user)."""
        name = by or self.acting_user
        if not name:
            raise UsageError(f"say which supervisor is to {what}", "run with --user SUPERVISOR (or set CC_USER)")
        me = self.store.user(name)
        if me is None:
            raise NotFound(f"no user named '{name}'", "see 'cc user list'")
        if me["disabled"]:
            raise Refused(f"user '{name}' is disabled", "an administrator can re-enable it")
        if me["role"] not in SUPERVISING_ROLES:
            raise PermissionDenied(f"{name} is {me['role']} and may not {what}", "only a supervisor or an admin may")
        return name

    def _actor(self, by: str | None, what: str) -> str:
        """Who does a supervisor operation: a named supervisor/admin, or '' for the site operator (the CLI
        without --user)."""
        if not (by or self.acting_user):
            return ""
        return self._supervisor(by, what)

    def _action(self, now: str, action: str, by: str, **fields: Any) -> None:
        self.store.add_action({"at": now, "action": action, "by_user": by, **fields})

    def force_state(self, user: str, command: str, reason: str = "", by: str | None = None) -> dict:
        """A supervisor forces an agent to ``ready``, ``pause`` (with a reason code) or ``logout``
        (sign-out); the state event names the supervisor. A forced sign-out also clears an agent stuck
        on a call (the conversation itself goes on; its end no longer changes the agent's state)."""
        by = self._supervisor(by, f"force agent '{user}' to {command}")
        if command == "pause" and not reason.strip():
            raise UsageError("a forced pause needs a reason code", f"e.g. cc agent force {user} pause meeting")
        self._change(user, command, reason, acd.forced_change, by=by)
        return self.agent_view(user)

    def assign_expert(self, user: str, on: bool = True, by: str | None = None) -> dict:
        """Put an agent into the expert seat (the group ``expert_group`` that call control's "expert"
        target rings) or take them out of it (back to their own group). Recorded in the action log."""
        by = self._actor(by, "assign the expert seat")
        expert = self.settings.expert_group
        _, now, _ = self._now()
        with self.store.transaction():
            row = self._require_agent(user)
            group = row["grp"] or ""
            if on and group != expert:
                self.store.set_group(user, expert, group, now)
                self._action(now, "expert_on", by, agent=user, detail=f"group {group or '-'} -> {expert}")
            elif not on and group == expert:
                home = row.get("home_grp") or ""
                self.store.set_group(user, home, None, now)
                self._action(now, "expert_off", by, agent=user, detail=f"group {expert} -> {home or '-'}")
        return self.agent_view(user)

    def _movable(self, waiting_id: int, statuses: tuple[str, ...], what: str) -> dict:
        row = self.store.waiting(waiting_id)
        if row is None:
            raise NotFound(f"no caller {waiting_id} in a queue", "see 'cc queue show'")
        if row["status"] not in statuses:
            hint = ("wait until the agent's phone stops ringing" if row["status"] == "ringing"
                    else "the caller is talking to an agent: transfer the call instead" if row["status"] == "connected"
                    else "the caller is waiting for a call back; no line is held")
            raise Refused(f"caller {waiting_id} is {row['status']}; cannot {what}", hint)
        if row.get("divert"):
            raise Refused(f"caller {waiting_id} is already being sent to {row['divert']}", "see 'cc queue show'")
        return row

    def move_waiting(self, waiting_id: int, queue: str, by: str | None = None) -> dict:
        """Move a waiting caller (or a call back) to another queue. The caller keeps their arrival time
        and priority, so they take the place in the new line their wait has earned instead of starting
        at the back; the old queue gets an exit ("overflowed", naming the move). The handler holding the
        caller notices at its next poll (prompts, timings and overflow rules of the new queue apply)."""
        by = self._actor(by, "move a waiting caller")
        target = self.queue(queue)
        _, now, now_s = self._now()
        with self.store.transaction():
            row = self._movable(waiting_id, ("waiting", "callback"), f"move it to '{target.name}'")
            if row["queue"] == target.name:
                raise UsageError(f"caller {waiting_id} is already in '{target.name}'", "give another queue")
            call = self._call(row)
            line = [self._call(r) for r in self.store.waiting_rows(("waiting", "callback"), row["queue"])]
            self.store.update_waiting(waiting_id, row["status"], queue=target.name)
            detail = f"moved to '{target.name}'" + (f" by {by}" if by else "")
            self._exit(waiting_id, row["call_id"], row["queue"], row["caller"], "overflowed", now,
                       waited_ms=int((now_s - call.entered) * 1000), position=acd.position(call, line), detail=detail)
            self._action(now, "move", by, waiting_id=waiting_id, call_id=row["call_id"], queue=row["queue"],
                         detail=f"{row['queue']} -> {target.name}")
        return self.store.waiting(waiting_id)

    def send_to_voicemail(self, waiting_id: int, by: str | None = None) -> dict:
        """Send a waiting caller to voicemail: the handler holding the caller notices at its next poll,
        writes the exit ("voicemail") and records the caller's message (the queue's voicemail path)."""
        by = self._actor(by, "send a caller to voicemail")
        _, now, _ = self._now()
        with self.store.transaction():
            row = self._movable(waiting_id, ("waiting",), "send it to voicemail")
            self.store.update_waiting(waiting_id, "waiting", divert="voicemail", divert_by=by)
            self._action(now, "voicemail", by, waiting_id=waiting_id, call_id=row["call_id"], queue=row["queue"])
        return self.store.waiting(waiting_id)

    def actions(self, agent: str | None = None, waiting_id: int | None = None, limit: int = 100) -> list[dict]:
        """The ACD's action log, newest first: supervisor operations and the ACD's own corrections."""
        return self.store.actions(agent, waiting_id, limit)
