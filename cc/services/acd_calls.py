"""One caller's time in a queue, over a channel: enter (or be turned away), hold with music and position
announcements while the dispatcher looks for an agent, ring the agent, talk (recorded when the queue
says so), survey, and leave with a reason.

The channel is a port (``QueueChannel``); ``cc.telephony.queue_handler`` implements it over AGI. The
ringing step is ``QueueChannel.dial``: today an AGI ``EXEC Dial`` that holds the AGI session for the
whole conversation; an AMI-based step (originate to the agent, then bridge) can implement the same call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cc.domain import acd
from cc.services.acd import AcdService
from cc.services.ports import CallerHungUp


@dataclass(frozen=True)
class DialResult:
    status: str  # Asterisk's DIALSTATUS: ANSWER, NOANSWER, BUSY, CHANUNAVAIL, CONGESTION, CANCEL...
    caller_alive: bool  # after an answered call: True when the agent hung up first


class QueueChannel(Protocol):
    def music(self, on: bool) -> None: ...

    def wait(self, seconds: float) -> str:
        """Wait (music keeps playing); returns a key pressed, or ''. Raises CallerHungUp."""
        ...

    def play(self, prompt: str, keys: str = "") -> str: ...

    def say_number(self, number: int) -> None: ...

    def dial(self, dial: str, ring_seconds: int, waiting_id: int, options: str = "") -> DialResult:
        """Ring an agent and, when answered, connect the caller until one side hangs up."""
        ...

    def start_recording(self, name: str) -> str:
        """Record the conversation from now (MixMonitor); returns the file as Asterisk writes it."""
        ...

    def record_message(self, name: str, max_seconds: int) -> tuple[str, int]:
        """Record a voicemail; returns (file without extension, duration in ms)."""
        ...


@dataclass(frozen=True)
class HoldOutcome:
    result: str  # for the call record: answered | abandoned | timeout | voicemail | callback | no_agents | blocked
    reason: str
    agent: str | None = None


Log = Callable[[str, dict[str, Any]], None]


class QueueCallFlow:
    def __init__(self, acd_service: AcdService, *, poll_seconds: float = 1.0, locale: str = "zh_CN",
                 dial_options: str = "", voicemail_seconds: int = 120) -> None:
        self.acd = acd_service
        self.poll_seconds = poll_seconds
        self.locale = locale
        self.dial_options = dial_options
        self.voicemail_seconds = voicemail_seconds

    def run(self, ch: QueueChannel, call_id: str, queue_name: str, caller: str = "", *, vip: bool = False,
            blacklisted: bool = False, log: Log | None = None,
            voicemail: Callable[[str, int], None] | None = None) -> HoldOutcome:
        log = log or (lambda kind, detail: None)
        for _ in range(MAX_OVERFLOWS + 1):
            outcome = self._run_one(ch, call_id, queue_name, caller, vip, blacklisted, log, voicemail)
            if not isinstance(outcome, _MoveTo):
                return outcome
            log("acd_overflow", {"from": queue_name, "to": outcome.queue})
            queue_name = outcome.queue
        ch.play("acd_timeout")
        return HoldOutcome("timeout", f"moved through {MAX_OVERFLOWS} queues without an agent")

    def _run_one(self, ch: QueueChannel, call_id: str, queue_name: str, caller: str, vip: bool, blacklisted: bool,
                 log: Log, voicemail: Callable[[str, int], None] | None) -> HoldOutcome | _MoveTo:
        entry = self.acd.enter(call_id, queue_name, caller, vip=vip, blacklisted=blacklisted)
        queue = entry.queue
        if entry.waiting_id is None:
            log("acd_refused", {"queue": queue.name, "reason": entry.refused, "detail": entry.detail})
            if entry.action == "voicemail":
                self._voicemail(ch, call_id, voicemail, log)
                return HoldOutcome("no_agents", f"no agent for '{queue.name}': voicemail")
            if entry.action == "full":
                ch.play(queue.prompts.get("full", "acd_full"))
            elif entry.action == "message":
                ch.play(queue.prompts.get("no_agents", "acd_no_agents"))
            return HoldOutcome(entry.refused or "blocked", f"not admitted to '{queue.name}': {entry.detail}")
        wid = entry.waiting_id
        log("acd_enter", {"queue": queue.name, "waiting_id": wid, "vip": vip})
        try:
            return self._hold(ch, wid, call_id, queue, log, voicemail)
        except _Quiet as exc:  # hung up after talking to an agent: the exit ("answered") is written
            raise CallerHungUp(str(exc)) from None
        except CallerHungUp:
            left = self.acd.leave(wid, "abandoned", "caller hung up")
            if left is not None:
                log("acd_exit", left)
            raise
        except BaseException:
            self.acd.leave(wid, "error", "the call's handler failed")
            self.acd.finished(wid)
            raise

    def _hold(self, ch: QueueChannel, wid: int, call_id: str, queue: acd.Queue, log: Log,
              voicemail: Callable[[str, int], None] | None) -> HoldOutcome | _MoveTo:
        ch.play(queue.prompts.get("enter", "acd_enter"))
        ch.music(True)
        last_announced: float | None = None
        offers = 0
        while True:
            self.acd.dispatch()
            view = self.acd.poll(wid)
            if view.status == "gone":
                return HoldOutcome("error", "the caller's queue row disappeared")
            if view.queue and view.queue != queue.name:  # a supervisor moved the caller
                log("acd_moved", {"from": queue.name, "to": view.queue})
                queue = self.acd.queue(view.queue)
            if view.divert == "voicemail":  # a supervisor sent the caller to voicemail
                ch.music(False)
                by = view.divert_by or "a supervisor"
                left = self.acd.leave(wid, "voicemail", f"sent to voicemail by {by}")
                log("acd_exit", left or {})
                self._voicemail(ch, call_id, voicemail, log)
                return HoldOutcome("voicemail", f"sent to voicemail from '{queue.name}' by {by}")
            if view.status == "ringing":
                ch.music(False)
                outcome = self._ring(ch, wid, call_id, queue, view, log)
                if outcome is not None:
                    return outcome
                ch.music(True)
                continue
            if view.no_agents is not None:
                self.acd.leave(wid, "no_agents", f"every agent logged out; {view.no_agents}")
                log("acd_exit", {"reason": "no_agents", "action": view.no_agents})
                ch.music(False)
                if view.no_agents == "voicemail":
                    self._voicemail(ch, call_id, voicemail, log)
                    return HoldOutcome("no_agents", f"agents left '{queue.name}': voicemail")
                ch.play(queue.prompts.get("no_agents", "acd_no_agents"))
                return HoldOutcome("no_agents", f"agents left '{queue.name}'")
            action = acd.max_wait_action(queue, view.waited, offers)
            if action == "offer":
                offers += 1
                ch.music(False)
                key = ch.play(queue.prompts.get("offer", "acd_offer"), "12") or ch.wait(5)
                log("acd_offer", {"key": key})
                action = {"1": "voicemail", "2": "callback"}.get(key)
                if action is None:
                    ch.music(True)
            if action is not None:
                return self._give_up(ch, wid, call_id, queue, action, log, voicemail)
            if acd.announcement_due(queue, view.waited, last_announced):
                last_announced = view.waited
                self._announce(ch, view, log)
            ch.wait(self.poll_seconds)

    def _announce(self, ch: QueueChannel, view: Any, log: Log) -> None:
        ahead = view.ahead
        wait = view.expected_wait
        text = acd.position_text(ahead, wait, self.locale)
        log("acd_announce", {"ahead": ahead, "expected_wait": wait, "text": text})
        ch.music(False)
        for kind, value in acd.position_parts(ahead, wait):
            if kind == "prompt":
                ch.play(value)
            else:
                ch.say_number(int(value))
        ch.music(True)

    def _give_up(self, ch: QueueChannel, wid: int, call_id: str, queue: acd.Queue, action: str, log: Log,
                 voicemail: Callable[[str, int], None] | None) -> HoldOutcome | _MoveTo:
        ch.music(False)
        if action == "queue":
            left = self.acd.leave(wid, "overflowed", f"to '{queue.overflow_queue}' after {queue.max_wait}s")
            log("acd_exit", left or {})
            return _MoveTo(queue.overflow_queue)
        if action == "voicemail":
            left = self.acd.leave(wid, "voicemail", f"waited over {queue.max_wait}s")
            log("acd_exit", left or {})
            self._voicemail(ch, call_id, voicemail, log)
            return HoldOutcome("voicemail", f"left '{queue.name}' for voicemail after the maximum wait")
        if action == "callback":
            left = self.acd.leave(wid, "callback", f"waited over {queue.max_wait}s; place kept for a call back")
            log("acd_exit", left or {})
            ch.play(queue.prompts.get("callback", "acd_callback"))
            return HoldOutcome("callback", f"call back requested from '{queue.name}' (place kept)")
        left = self.acd.leave(wid, "timeout", f"waited over {queue.max_wait}s")
        log("acd_exit", left or {})
        ch.play(queue.prompts.get("timeout", "acd_timeout"))
        return HoldOutcome("timeout", f"waited too long in '{queue.name}'")

    def _ring(self, ch: QueueChannel, wid: int, call_id: str, queue: acd.Queue, view: Any, log: Log) -> HoldOutcome | None:
        agent = view.agent
        log("acd_ring", {"agent": agent, "dial": view.dial, "tier": view.tier})
        recording = None
        if queue.recording:
            recording = ch.start_recording(f"acd-{_safe(call_id)}-{wid}-{_safe(agent or '')}")
        try:
            result = ch.dial(view.dial, queue.ring_seconds, wid, self.dial_options)
        except CallerHungUp:
            after = self.acd.poll(wid)
            if after.status == "ringing":  # hung up while the agent's phone rang
                raise
            if recording:
                self.acd.record(call_id, agent or "", queue.name, recording)
            agent_done = self.acd.finished(wid)
            log("acd_end", {"agent": agent_done or agent, "by": "caller", "recording": recording})
            if after.divert == "transfer":  # call control took the caller away from the agent
                log("acd_transfer", {"agent": agent, "to": after.divert_by})
                raise _Quiet(f"transferred by {agent} to {after.divert_by}") from None
            raise _Quiet("caller hung up during the conversation") from None
        if result.status != "ANSWER":
            self.acd.not_answered(wid, result.status)
            log("acd_no_answer", {"agent": agent, "dialstatus": result.status})
            return None
        if self.acd.poll(wid).status == "ringing":  # the answer hook did not run: mark it now
            self.acd.answered(wid)
        if recording:
            self.acd.record(call_id, agent or "", queue.name, recording)
        after = self.acd.poll(wid)
        self.acd.finished(wid)
        by = "agent" if result.caller_alive else "caller"
        log("acd_end", {"agent": agent, "by": by, "recording": recording})
        if after.divert == "transfer":  # an attended transfer: the caller talked to the target until now
            log("acd_transfer", {"agent": agent, "to": after.divert_by})
            if not result.caller_alive:
                raise _Quiet(f"transferred by {agent} to {after.divert_by}")
            return HoldOutcome("transferred", f"answered by {agent} in '{queue.name}', transferred to {after.divert_by}",
                               agent)
        if not result.caller_alive:
            raise _Quiet("caller hung up during the conversation")
        if queue.survey:
            self._survey(ch, call_id, agent or "", queue, log)
        return HoldOutcome("answered", f"answered by {agent} in '{queue.name}'", agent)

    def _survey(self, ch: QueueChannel, call_id: str, agent: str, queue: acd.Queue, log: Log) -> None:
        key = ch.play(queue.prompts.get("survey", "acd_survey"), "12345") or ch.wait(8)
        score = acd.survey_score(key)
        log("acd_survey", {"agent": agent, "score": score})
        if score is not None:
            self.acd.survey(call_id, agent, queue.name, score)
            ch.play(queue.prompts.get("thanks", "acd_thanks"))

    def _voicemail(self, ch: QueueChannel, call_id: str, store: Callable[[str, int], None] | None, log: Log) -> None:
        ch.play("acd_voicemail")
        file, duration = ch.record_message(f"acd-vm-{_safe(call_id)}", self.voicemail_seconds)
        log("acd_voicemail", {"file": file, "duration_ms": duration})
        if store is not None:
            store(file, duration)


MAX_OVERFLOWS = 3  # queue-to-queue moves for one caller (a loop of overflow queues ends)


@dataclass(frozen=True)
class _MoveTo:
    queue: str


class _Quiet(CallerHungUp):
    """The caller hung up during the conversation; the queue exit is already written."""


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40]
