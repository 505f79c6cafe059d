"""The ACD makes call backs itself: a caller who chose a call back kept their place in line; when their
turn comes the dispatcher claims an agent for them atomically (``AcdService.dispatch`` with
``callbacks`` on), and this caller-back rings that agent first, then the customer.

Why the agent first: the customer is never answered by silence or hold music waiting for an agent
(an abandoned outbound call), and an agent who does not pick up costs the customer nothing: the call
back keeps its turn for the next agent. The agent hears the customer's phone ring and can leave a word
on their voicemail. The same dialplan as click-to-dial does it: ``Originate`` the agent into the control
context's ``connect`` extension, which dials ``CC_TARGET`` when the agent answers. The outcome is read
from the AMI events of the agent's channel (its ``ChannelId`` is ``cc-cb-<id>-<attempt>``):
``OriginateResponse`` (did the agent answer), ``DialEnd`` (the customer leg's DIALSTATUS) and ``Hangup``
(an answered call back is done when the agent's channel hangs up).

Outcomes (``AcdService.callback_outcome``): answered (done), agent_no_answer (agent paused, turn kept),
no_answer / busy / failed (the customer: tried again after a while, given up after a bounded number of
attempts). Every call back is leased: a caller-back that dies leaves no agent stuck (``expire_gone``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.errors import CcError, Unreachable
from cc.services.acd import AcdService

Message = dict[str, str]
_STATUS = {"ANSWER": "answered", "NOANSWER": "no_answer", "BUSY": "busy"}


@dataclass(frozen=True)
class CallbackSettings:
    context: str = "cc-control"  # the control context (its ``connect`` extension)
    exten: str = "connect"
    outbound_dial: str = "PJSIP/{number}@trunk"  # the customer ({number}: E.164, {digits}: without +)
    caller_id: str = ""  # what the customer sees
    agent_ring_seconds: int = 20
    call_seconds: float = 4 * 3600  # bound on one call back (customer ringing + conversation)


@dataclass
class _Call:
    row: dict
    channel: str
    started: float
    answered: bool = False  # the agent
    talking: bool = False  # the customer answered too


@dataclass
class CallbackRunner:
    acd: AcdService
    ami: Any  # cc.services.call_control.AmiPort
    settings: CallbackSettings = field(default_factory=CallbackSettings)
    normalize: Callable[[str], str] | None = None
    log: Callable[[dict], None] = lambda result: None

    def __post_init__(self) -> None:
        self._events: queue.Queue[Message] = queue.Queue()
        self._unsubscribe = self.ami.subscribe(self._events.put)
        self._calls: dict[str, _Call] = {}  # channel id -> call back in progress
        self.results: list[dict] = []

    def close(self) -> None:
        self._unsubscribe()

    # -- one step --------------------------------------------------------------------------------------

    def start_due(self) -> list[dict]:
        """Claim agents for the call backs whose turn came and ring those agents."""
        self.acd.dispatch()
        started = []
        for row in self.acd.take_callbacks():
            channel = f"cc-cb-{row['id']}-{row['cb_attempts']}"
            try:
                self._originate(row, channel)
            except Unreachable:
                self._finish(_Call(row, channel, time.monotonic()), "agent_no_answer", "Asterisk unreachable")
                raise
            except CcError as exc:
                self._finish(_Call(row, channel, time.monotonic()), "failed", exc.message)
                continue
            self._calls[channel] = _Call(row, channel, time.monotonic())
            started.append(row)
        return started

    def _originate(self, row: dict, channel: str) -> None:
        s = self.settings
        number = self.normalize(row["caller"]) if self.normalize else row["caller"]
        target = s.outbound_dial.format(number=number, digits=number.lstrip("+"))
        fields: dict[str, object] = {
            "Channel": row["agent_dial"], "Context": s.context, "Exten": s.exten, "Priority": 1,
            "Timeout": s.agent_ring_seconds * 1000, "Async": "true", "ChannelId": channel,
            "CallerID": f'"call back {number}" <{number}>',
        }
        variables: Mapping[str, object] = {"CC_TARGET": target, "CC_AGENT": row["agent"], "CC_OUT_CALLERID": s.caller_id}
        reply = self.ami.action("Originate", fields, variables=variables)
        if reply.get("Response") != "Success":
            raise CcError(f"Asterisk refused the call back: {reply.get('Message', 'no reason given')}")

    def pump(self, timeout: float) -> None:
        """Follow the calls in progress for up to ``timeout`` seconds (their events, their leases)."""
        deadline = time.monotonic() + timeout
        while self._calls:
            for call in self._calls.values():
                self.acd.callback_alive(call.row["id"])
            for channel, call in list(self._calls.items()):
                if time.monotonic() - call.started > self.settings.agent_ring_seconds + self.settings.call_seconds:
                    self._finish(call, "failed", "no outcome in time")
            left = deadline - time.monotonic()
            if left <= 0 or not self._calls:
                return
            try:
                event = self._events.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            self._on_event(event)

    def _on_event(self, event: Message) -> None:
        name = event.get("Event")
        if name == "OriginateResponse" and event.get("Uniqueid") in self._calls:
            call = self._calls[event["Uniqueid"]]
            if event.get("Response") == "Success":
                call.answered = True
                self.acd.callback_agent_answered(call.row["id"])
            else:
                self._finish(call, "agent_no_answer", event.get("Reason", ""))
        elif name == "DialEnd" and event.get("Uniqueid") in self._calls:  # the customer leg
            call = self._calls[event["Uniqueid"]]
            status = event.get("DialStatus", "")
            if status == "ANSWER":
                call.talking = True
            else:
                self._finish(call, _STATUS.get(status, "failed"), status)
        elif name == "Hangup" and event.get("Uniqueid") in self._calls:
            call = self._calls[event["Uniqueid"]]
            if call.talking:
                self._finish(call, "answered", "ANSWER")
            elif call.answered:
                self._finish(call, "failed", "the agent hung up before the customer answered")
            else:
                self._finish(call, "agent_no_answer", "the agent's phone hung up")

    def _finish(self, call: _Call, outcome: str, detail: str) -> None:
        self._calls.pop(call.channel, None)
        result = self.acd.callback_outcome(call.row["id"], outcome, detail)
        self.results.append(result)
        self.log(result)

    # -- loops -----------------------------------------------------------------------------------------

    def run_once(self, wait: float = 60.0) -> list[dict]:
        """Start the call backs due now and follow them to their outcome (at most ``wait`` seconds)."""
        self.results = []
        self.start_due()
        self.pump(wait)
        return self.results

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Until ``stop`` is set: start call backs as their turn comes, follow those in progress."""
        while not stop.is_set():
            self.start_due()
            if self._calls:
                self.pump(poll_seconds)
            else:
                stop.wait(poll_seconds)
