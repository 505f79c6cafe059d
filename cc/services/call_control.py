"""Call control through the Asterisk manager: click-to-dial, blind and attended transfer, three-way
conference, hang-up, mute, pick-up of a call ringing for a colleague, supervisor spy (listen, whisper,
barge) and delivery of voice-relay messages by outbound call.

Free of frameworks: the AMI client comes in as a port (``AmiPort``; ``cc.telephony.ami.AmiClient``
implements it, tests pass a fake), the database as ``cc.store.call_control.CallControlStore``. The
dialplan side is the control context ``cc.telephony.control_dialplan.render_control`` writes (``cc
asterisk config``); the extension names and channel variables it reads are the constants below.

How each action works on Asterisk:

- dial: ``Originate`` the agent's phone into ``connect``, which dials the customer (``CC_TARGET``) once
  the agent answers. The agent's channel gets ``ChannelId`` ``cc-dial-...`` (what ``cc call hangup``
  takes).
- transfer: the target goes into AstDB (``cc-xfer/<token>``: ``D:<dial string>`` or ``Q:<queue>``) and
  the call is sent to extension ``<token>`` of the control context: blind = ``Redirect`` of the customer's
  channel; attended = ``Atxfer`` on the agent's channel (the agent talks to the target first; hanging up
  completes the transfer).
- conference: ``Originate`` the third party into ``conference``, which runs ``BridgeAdd`` on the agent's
  channel (the two-party bridge becomes a three-party one).
- hang-up: ``Hangup``; mute: ``MuteAudio`` (res_mutestream) on the agent's channel, audio in.
- pick-up: ``Originate`` the picking agent's phone into ``pickup`` = ``PickupChan(<ringing channel>)``.
- spy: ``Originate`` the supervisor's phone into ``spy`` = ``ChanSpy(<agent channel>,<options>)``.
- relay: ``Originate`` the recipient into ``relay`` (plays the message, then ``UserEvent CcRelayPlayed``).
"""

from __future__ import annotations

import queue
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from cc.clock import Clock
from cc.domain.timestamps import iso
from cc.errors import NotFound, PermissionDenied, Refused, Unreachable, UsageError

Message = dict[str, str]

EXT_CONNECT = "connect"
EXT_CONFERENCE = "conference"
EXT_PICKUP = "pickup"
EXT_SPY = "spy"
EXT_RELAY = "relay"
XFER_FAMILY = "cc-xfer"
RELAY_EVENT = "CcRelayPlayed"
TRANSFER_VARIABLE = "CC_TRANSFERRED"  # set on the customer's channel before a transfer: D:<dial> or Q:<queue>

# ChanSpy options: q = no beep/announcement, E = end when the spied channel hangs up, S = end when nothing
# is left to spy on; w = whisper (the agent hears the supervisor), B = barge (both parties hear them).
SPY_OPTIONS = {"listen": "qES", "whisper": "qwES", "barge": "qBES"}
SPY_ROLES = ("supervisor", "admin")
RINGING_STATES = ("4", "5")  # AST_STATE_RING (4), AST_STATE_RINGING (5)
_UNSAFE = re.compile(r"[\r\n,;()|$\"]")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")

# User-facing texts in one place (to move into cc/i18n.py).
MSG = {
    "no_agent": ("no agent named '{user}'", "set the agent up with 'cc agent set {user} --dial PJSIP/1001 --skill orders:5'"),
    "no_dial": ("agent '{user}' has no dial string", "run 'cc agent set {user} --dial PJSIP/1001 ...'"),
    "no_call": ("no live call '{call}'", "give a call id from 'cc call list', a channel name, or an agent on a call"),
    "not_on_call": ("agent '{user}' is not on a call", "see 'cc agent list'"),
    "no_agent_side": ("call '{call}' has no agent leg to transfer from", "use a blind transfer (without --attended)"),
    "refused": ("Asterisk refused {action}: {message}", "check the channel still exists and the control context is loaded ('cc asterisk config')"),
    "no_group": ("nobody in group '{group}' is ready", "see 'cc agent list'"),
    "no_ringing": ("no call is ringing for another agent of group '{group}'", "see 'cc agent list'"),
    "bad_target": ("'{target}' is not a queue, an agent, a group or a phone number",
                   "write queue:NAME (or a queue's name), agent:USER (or USER), expert, group:NAME, or a number such as 13800138000"),
}


def _err(kind: type, key: str, **values: Any) -> Exception:
    message, hint = MSG[key]
    return kind(message.format(**values), hint.format(**values))


class AmiPort(Protocol):
    """What the service needs from an AMI client (``cc.telephony.ami.AmiClient``)."""

    def action(self, name: str, fields: Mapping[str, object] | None = None, *,
               variables: Mapping[str, object] | None = None, timeout: float | None = None) -> Message: ...

    def action_list(self, name: str, fields: Mapping[str, object] | None = None, *,
                    timeout: float | None = None) -> tuple[Message, list[Message]]: ...

    def subscribe(self, callback: Callable[[Message], None]) -> Callable[[], None]: ...


@dataclass(frozen=True)
class ControlSettings:
    context: str = "cc-control"
    outbound_dial: str = "PJSIP/{number}@trunk"
    caller_id: str = ""
    ring_seconds: int = 30
    expert_group: str = "expert"
    relay_max_attempts: int = 3
    relay_retry_seconds: int = 600
    relay_batch: int = 10
    relay_call_seconds: float = 180.0  # bound on one delivery call after it is answered (the message's length)


@dataclass(frozen=True)
class LiveChannel:
    channel: str
    uniqueid: str = ""
    linkedid: str = ""
    bridge: str = ""
    state: str = ""  # ChannelState: 4 ring, 5 ringing, 6 up
    caller: str = ""
    connected: str = ""
    exten: str = ""
    application: str = ""
    duration: str = ""

    @classmethod
    def from_event(cls, event: Message) -> LiveChannel:
        return cls(
            channel=event.get("Channel", ""), uniqueid=event.get("Uniqueid", ""), linkedid=event.get("Linkedid", ""),
            bridge=event.get("BridgeId", ""), state=event.get("ChannelState", ""), caller=event.get("CallerIDNum", ""),
            connected=event.get("ConnectedLineNum", ""), exten=event.get("Exten", ""),
            application=event.get("Application", ""), duration=event.get("Duration", ""),
        )


@dataclass(frozen=True)
class LiveCall:
    name: str  # as the user gave it
    customer: LiveChannel | None
    agent: LiveChannel | None
    agent_user: str = ""


def dial_match(dial: str) -> tuple[str, str]:
    """How an agent's channels are recognised from its dial string: (channel name prefix, number).

    ``PJSIP/1001`` -> ("PJSIP/1001-", ""); ``Local/a1@ctx/n`` -> ("Local/a1@ctx-", "");
    ``PJSIP/13800138000@trunk`` -> ("PJSIP/trunk-", "13800138000") (a trunk channel is named after the
    trunk: the number must also match the channel's caller or connected line)."""
    first = dial.split("&")[0].strip()
    tech, _, rest = first.partition("/")
    if tech.lower() == "local":
        rest = re.sub(r"/[a-z]+$", "", rest)
        return f"{tech}/{rest}-", ""
    resource, at, host = rest.partition("@")
    if at:
        return f"{tech}/{host}-", resource.lstrip("+")
    return f"{tech}/{resource}-", ""


def _is_agent_channel(ch: LiveChannel, dial: str) -> bool:
    prefix, number = dial_match(dial)
    if not ch.channel.startswith(prefix):
        return False
    if number:
        return any(number in (value or "").lstrip("+") for value in (ch.caller, ch.connected, ch.exten))
    return True


def _rank(ch: LiveChannel) -> tuple:
    """Prefer the bridged, outward half of a Local channel (;1), then the longest-lived."""
    try:
        age = int(ch.duration.replace(":", "")) if ch.duration else 0
    except ValueError:
        age = 0
    return (bool(ch.bridge), not ch.channel.endswith(";2"), age)


class CallControlService:
    def __init__(self, ami: AmiPort, store: Any, clock: Clock, settings: ControlSettings | None = None, *,
                 actor: str = "", normalize: Callable[[str], str] | None = None, acd: Any = None) -> None:
        self.ami = ami
        # The ACD's side of dial and transfer (cc.telephony.acd_control.AcdCallHook): the agent is on_call
        # during a click-to-dial call, and freed by a transfer. None: call control alone.
        self.acd = acd
        self.store = store
        self.clock = clock
        self.settings = settings or ControlSettings()
        self.actor = actor
        self.normalize = normalize or _normalize

    # -- helpers ---------------------------------------------------------------------------------------

    def _now(self) -> str:
        return iso(self.clock.now())

    def _log(self, action: str, outcome: str = "ok", **fields: str) -> None:
        self.store.log({"at": self._now(), "action": action, "actor": self.actor, "outcome": outcome, **fields})

    def _ok(self, action: str, reply: Message) -> Message:
        if reply.get("Response") != "Success":
            raise _err(Refused, "refused", action=action, message=reply.get("Message", "no reason given"))
        return reply

    def _agent(self, user: str) -> dict:
        row = self.store.agent(user)
        if row is None:
            raise _err(NotFound, "no_agent", user=user)
        if not row.get("dial"):
            raise _err(UsageError, "no_dial", user=user)
        return row

    def _originate(self, channel: str, exten: str, variables: Mapping[str, object], *, caller_id: str = "",
                   channel_id: str = "") -> Message:
        fields: dict[str, object] = {
            "Channel": channel, "Context": self.settings.context, "Exten": exten, "Priority": 1,
            "Timeout": self.settings.ring_seconds * 1000, "Async": "true",
        }
        if caller_id:
            fields["CallerID"] = caller_id
        if channel_id:
            fields["ChannelId"] = channel_id
        return self._ok(f"Originate to {exten}", self.ami.action("Originate", fields, variables=variables))

    def channels(self) -> list[LiveChannel]:
        """Every live channel (``CoreShowChannels``)."""
        reply, events = self.ami.action_list("CoreShowChannels")
        self._ok("CoreShowChannels", reply)
        return [LiveChannel.from_event(e) for e in events if e.get("Event") == "CoreShowChannel"]

    def agent_channel(self, user: str, channels: list[LiveChannel] | None = None) -> LiveChannel | None:
        agent = self._agent(user)
        channels = self.channels() if channels is None else channels
        mine = [c for c in channels if _is_agent_channel(c, agent["dial"])]
        return max(mine, key=_rank) if mine else None

    @staticmethod
    def _peer(ch: LiveChannel, channels: list[LiveChannel]) -> LiveChannel | None:
        if ch.bridge:
            others = [c for c in channels if c.bridge == ch.bridge and c.channel != ch.channel]
            if others:
                return max(others, key=_rank)
        return None

    def resolve(self, call: str) -> LiveCall:
        """A live call from what the user typed: an agent on a call, a call id (uniqueid/linkedid), or a
        channel name."""
        channels = self.channels()
        agent_row = self.store.agent(call)
        if agent_row is not None and agent_row.get("dial"):
            ch = self.agent_channel(call, channels)
            if ch is None:
                raise _err(Refused, "not_on_call", user=call)
            return LiveCall(call, self._peer(ch, channels), ch, call)
        found = next((c for c in channels if call in (c.uniqueid, c.channel)), None)
        if found is None:
            linked = [c for c in channels if c.linkedid == call]
            found = next((c for c in linked if c.uniqueid == c.linkedid), None) or (max(linked, key=_rank) if linked else None)
        if found is None:
            name = self.store.call_channel(call)
            found = next((c for c in channels if name and c.channel == name), None)
        if found is None:
            raise _err(NotFound, "no_call", call=call)
        agents = self.store.agents()
        for row in agents:  # the call named by the agent's own channel
            if row.get("dial") and _is_agent_channel(found, row["dial"]):
                return LiveCall(call, self._peer(found, channels), found, row["user"])
        peer = self._peer(found, channels)
        user = ""
        if peer is not None:
            user = next((r["user"] for r in agents if r.get("dial") and _is_agent_channel(peer, r["dial"])), "")
        return LiveCall(call, found, peer, user)

    def target(self, text: str) -> tuple[str, str]:
        """A transfer/conference target: ("Q", queue) or ("D", dial string)."""
        text = text.strip()
        kind, sep, rest = text.partition(":")
        if sep and kind == "queue":
            if not _QUEUE_NAME.match(rest):
                raise _err(UsageError, "bad_target", target=text)
            return "Q", rest
        if text == "expert" or (sep and kind == "group"):
            group = self.settings.expert_group if text == "expert" else rest
            ready = [r["dial"] for r in self.store.agents(group) if r["state"] == "ready" and r.get("dial")]
            if not ready:
                raise _err(Refused, "no_group", group=group)
            return "D", "&".join(ready)
        if sep and kind == "agent":
            return "D", self._agent(rest)["dial"]
        if not sep and self.store.agent(text) is not None:
            return "D", self._agent(text)["dial"]
        if not sep and _QUEUE_NAME.match(text) and self.store.queue_exists(text):
            return "Q", text  # a bare queue name (cc queue list)
        if "/" in text and not _UNSAFE.search(text):
            return "D", text  # a dial string as is (PJSIP/1002, Local/...)
        try:
            number = self.normalize(text)
        except UsageError:
            raise _err(UsageError, "bad_target", target=text) from None
        return "D", self.outside(number)

    def outside(self, number: str) -> str:
        return self.settings.outbound_dial.format(number=number, digits=number.lstrip("+"))

    # -- actions ---------------------------------------------------------------------------------------

    def dial(self, user: str, number: str) -> dict:
        """Click-to-dial: ring the agent's phone; when they answer, dial the customer."""
        agent = self._agent(user)
        number = self.normalize(number)
        target = self.outside(number)
        call = f"cc-dial-{secrets.token_hex(6)}"
        variables = {"CC_TARGET": target, "CC_AGENT": user, "CC_OUT_CALLERID": self.settings.caller_id}
        if self.acd is not None:
            variables.update(self.acd.dialing(user, call))
        try:
            self._originate(agent["dial"], EXT_CONNECT, variables, caller_id=f'"{number}" <{number}>', channel_id=call)
        except (Refused, Unreachable) as exc:
            self._log("dial", "failed", agent=user, call=call, target=number, detail=exc.message)
            if self.acd is not None:
                self.acd.dial_failed(user, call)
            raise
        self._log("dial", agent=user, call=call, channel=agent["dial"], target=number)
        return {"call": call, "agent": user, "number": number, "agent_dial": agent["dial"], "customer_dial": target}

    def transfer(self, call: str, target: str, *, attended: bool = False) -> dict:
        """Blind: the customer goes to the target now. Attended: the agent talks to the target first;
        the transfer completes when the agent hangs up."""
        live = self.resolve(call)
        kind, value = self.target(target)
        token = str(secrets.randbelow(90_000_000) + 10_000_000)
        action = "attended_transfer" if attended else "transfer"
        if attended:
            if live.agent is None or live.customer is None:
                raise _err(Refused, "no_agent_side", call=call)
            channel = live.agent.channel
        else:
            if live.customer is None:
                raise _err(NotFound, "no_call", call=call)
            channel = live.customer.channel
        self._ok("DBPut", self.ami.action("DBPut", {"Family": XFER_FAMILY, "Key": token, "Val": f"{kind}:{value}"}))
        if live.customer is not None:  # lets the ACD's handler tell a transfer from a hang-up
            self.ami.action("Setvar", {"Channel": live.customer.channel, "Variable": TRANSFER_VARIABLE,
                                       "Value": f"{kind}:{value}"})
            if self.acd is not None:  # before the caller moves: the ACD's handler notices at once
                self.acd.transferring(live.customer.uniqueid, f"{kind}:{value}", live.agent_user, attended, by=self.actor)
        try:
            if attended:
                fields = {"Channel": channel, "Context": self.settings.context, "Exten": token}
                reply = self.ami.action("Atxfer", fields)
                if reply.get("Response") != "Success" and "feature code" in reply.get("Message", ""):
                    raise Refused("Asterisk has no attended-transfer feature code",
                                  "set 'atxfer => *2' under [featuremap] in features.conf, dial agents with"
                                  " option t (acd.dial_options), and reload")
                self._ok("Atxfer", reply)
            else:
                self._ok("Redirect", self.ami.action("Redirect", {"Channel": channel, "Context": self.settings.context,
                                                                  "Exten": token, "Priority": 1}))
        except (Refused, Unreachable) as exc:
            self._log(action, "failed", agent=live.agent_user, call=call, channel=channel, target=target, detail=exc.message)
            if self.acd is not None and live.customer is not None:
                self.acd.transfer_failed(live.customer.uniqueid)
            raise
        self._log(action, agent=live.agent_user, call=call, channel=channel, target=target, detail=f"{kind}:{value}")
        if self.acd is not None and live.customer is not None:
            self.acd.transferred(live.customer.uniqueid, live.agent_user, f"{kind}:{value}", attended, by=self.actor)
        return {"call": call, "channel": channel, "target": target, "route": f"{kind}:{value}", "attended": attended,
                "agent": live.agent_user}

    def conference(self, call: str, target: str) -> dict:
        """Bring a third party into the agent's call."""
        live = self.resolve(call)
        anchor = live.agent or live.customer
        if anchor is None or not anchor.bridge:
            raise _err(Refused, "not_on_call", user=live.agent_user or call)
        kind, value = self.target(target)
        if kind != "D":
            raise UsageError("a queue cannot join a conference", "give an agent, the expert group or a number")
        conf_id = f"cc-conf-{secrets.token_hex(6)}"
        caller = live.customer.caller if live.customer else ""
        try:
            self._originate(value, EXT_CONFERENCE, {"CC_BRIDGE_CHANNEL": anchor.channel},
                            caller_id=f'"{caller}" <{caller}>' if caller else "", channel_id=conf_id)
        except (Refused, Unreachable) as exc:
            self._log("conference", "failed", agent=live.agent_user, call=call, channel=anchor.channel, target=target, detail=exc.message)
            raise
        self._log("conference", agent=live.agent_user, call=call, channel=anchor.channel, target=target, detail=value)
        return {"call": call, "channel": anchor.channel, "target": target, "third_party": conf_id, "agent": live.agent_user}

    def hangup(self, call: str) -> dict:
        live = self.resolve(call)
        ch = live.customer or live.agent
        assert ch is not None
        self._ok("Hangup", self.ami.action("Hangup", {"Channel": ch.channel, "Cause": 16}))
        self._log("hangup", agent=live.agent_user, call=call, channel=ch.channel)
        return {"call": call, "channel": ch.channel, "agent": live.agent_user}

    def mute(self, call: str, on: bool = True) -> dict:
        """Mute (or unmute) the agent's voice on a call: the customer stops hearing the agent."""
        live = self.resolve(call)
        if live.agent is None:
            raise _err(Refused, "not_on_call", user=call)
        self._ok("MuteAudio", self.ami.action("MuteAudio", {"Channel": live.agent.channel, "Direction": "in",
                                                            "State": "on" if on else "off"}))
        self._log("mute" if on else "unmute", agent=live.agent_user, call=call, channel=live.agent.channel)
        return {"call": call, "channel": live.agent.channel, "muted": on, "agent": live.agent_user}

    def pickup(self, user: str) -> dict:
        """Answer, from ``user``'s phone, a call ringing for another agent of the same group."""
        agent = self._agent(user)
        group = agent.get("grp") or ""
        if not group:
            raise Refused(f"agent '{user}' is in no group", f"set one with 'cc agent set {user} ... --group GROUP'")
        channels = self.channels()
        ringing: list[tuple[str, LiveChannel]] = []
        for row in self.store.agents(group):
            if row["user"] == user or not row.get("dial"):
                continue
            ringing += [(row["user"], c) for c in channels
                        if c.state in RINGING_STATES and _is_agent_channel(c, row["dial"]) and not c.channel.endswith(";2")]
        if not ringing:
            raise _err(Refused, "no_ringing", group=group)
        colleague, ch = max(ringing, key=lambda item: _rank(item[1]))
        self._originate(agent["dial"], EXT_PICKUP, {"CC_PICKUP": ch.channel, "CC_AGENT": user},
                        channel_id=f"cc-pickup-{secrets.token_hex(6)}")
        self._log("pickup", agent=user, call=ch.uniqueid, channel=ch.channel, target=colleague)
        return {"agent": user, "picked_from": colleague, "channel": ch.channel}

    def spy(self, mode: str, supervisor: str, agent: str, *, dial: str | None = None) -> dict:
        """Ring the supervisor's phone; when answered, listen to / whisper to / barge into the agent's call."""
        if mode not in SPY_OPTIONS:
            raise UsageError(f"spy mode '{mode}' is not one of {', '.join(SPY_OPTIONS)}")
        account = self.store.user(supervisor)
        if account is None:
            raise NotFound(f"no user named '{supervisor}'", "see 'cc user list'")
        if account["role"] not in SPY_ROLES or account.get("disabled"):
            raise PermissionDenied(f"user '{supervisor}' ({account['role']}) may not listen to agents' calls",
                                   "only supervisors (and admins) may spy")
        if dial is None:
            row = self.store.agent(supervisor)
            dial = (row or {}).get("dial") or ""
            if not dial:
                raise UsageError(f"no phone known for supervisor '{supervisor}'",
                                 f"give --dial PJSIP/2001, or 'cc agent set {supervisor} --dial ...'")
        ch = self.agent_channel(agent)
        if ch is None or not ch.bridge:
            raise _err(Refused, "not_on_call", user=agent)
        spy_id = f"cc-spy-{secrets.token_hex(6)}"
        try:
            self._originate(dial, EXT_SPY, {"CC_SPY_CHANNEL": ch.channel, "CC_SPY_OPTIONS": SPY_OPTIONS[mode]},
                            caller_id=f'"{mode} {agent}" <{agent}>', channel_id=spy_id)
        except (Refused, Unreachable) as exc:
            self._log(f"spy_{mode}", "failed", agent=agent, channel=ch.channel, target=supervisor, detail=exc.message)
            raise
        self._log(f"spy_{mode}", agent=agent, call=ch.linkedid, channel=ch.channel, target=supervisor, detail=dial)
        return {"mode": mode, "supervisor": supervisor, "agent": agent, "agent_channel": ch.channel, "spy": spy_id}

    # -- voice relays ----------------------------------------------------------------------------------

    def deliver_relays(self, *, limit: int | None = None, wait: float | None = None) -> list[dict]:
        """Call the recipients of pending voice relays and play them their message (for cron). Each relay
        ends ``delivered`` (played to the end), ``pending`` (to try again after ``relay_retry_seconds``) or
        ``failed`` (after ``relay_max_attempts``)."""
        s = self.settings
        now = self.clock.now()
        with self.store.transaction():
            claimed = self.store.claim_relays(
                iso(now), iso(now - timedelta(seconds=s.relay_retry_seconds)),
                iso(now - timedelta(seconds=s.ring_seconds + s.relay_call_seconds + 60)), limit or s.relay_batch,
            )
        if not claimed:
            return []
        events: queue.Queue[Message] = queue.Queue()
        unsubscribe = self.ami.subscribe(events.put)
        results: dict[int, dict] = {}
        waiting: dict[str, dict] = {}  # channel id -> relay
        down: Unreachable | None = None
        try:
            for relay in claimed:
                channel_id = f"cc-relay-{relay['id']}-{relay['attempts']}"
                try:
                    dial = self.outside(self.normalize(relay["target"]))
                    self._originate(dial, EXT_RELAY, {"CC_RELAY_FILE": relay["file"], "CC_RELAY_ID": relay["id"]},
                                    caller_id=s.caller_id, channel_id=channel_id)
                except Unreachable as exc:
                    down = exc  # Asterisk is down: the untried relays go back as they were
                    break
                except (Refused, UsageError) as exc:
                    results[relay["id"]] = {"relay": relay, "played": False, "detail": exc.message}
                    continue
                waiting[channel_id] = relay
            deadline = time.monotonic() + (wait if wait is not None else s.ring_seconds + s.relay_call_seconds)
            answered: set[str] = set()
            while waiting and time.monotonic() < deadline:
                try:
                    event = events.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break
                name = event.get("Event")
                if name == "UserEvent" and event.get("UserEvent") == RELAY_EVENT:
                    cid = next((k for k, r in waiting.items() if str(r["id"]) == event.get("RelayId")), None)
                    if cid:
                        relay = waiting.pop(cid)
                        played = event.get("Status") == "SUCCESS"
                        results[relay["id"]] = {"relay": relay, "played": played,
                                                "detail": "" if played else f"playback {event.get('Status')}"}
                elif name == "OriginateResponse" and event.get("Uniqueid") in waiting:
                    if event.get("Response") == "Success":
                        answered.add(event["Uniqueid"])
                    else:
                        relay = waiting.pop(event["Uniqueid"])
                        results[relay["id"]] = {"relay": relay, "played": False,
                                                "detail": f"not answered ({event.get('Reason', '')})"}
                elif name == "Hangup" and event.get("Uniqueid") in waiting and event["Uniqueid"] in answered:
                    # Hung up before the message ended (the played event would have come first).
                    relay = waiting.pop(event["Uniqueid"])
                    results[relay["id"]] = {"relay": relay, "played": False, "detail": "hung up during the message"}
            for relay in waiting.values():
                results[relay["id"]] = {"relay": relay, "played": False, "detail": "no outcome in time"}
        finally:
            unsubscribe()
            out = self._finish_relays(claimed, results)
        if down is not None:
            raise down
        return out

    def _finish_relays(self, claimed: list[dict], results: dict[int, dict]) -> list[dict]:
        s = self.settings
        out = []
        now = self._now()
        for relay in claimed:
            result = results.get(relay["id"])
            if result is None:  # not tried (Asterisk went down): back to pending without using an attempt
                self.store.unclaim_relay(relay["id"], now)
                out.append({"id": relay["id"], "target": relay["target"], "status": "pending", "attempts": relay["attempts"] - 1,
                            "detail": "not tried"})
                continue
            if result["played"]:
                status = "delivered"
            elif relay["attempts"] >= s.relay_max_attempts:
                status = "failed"
            else:
                status = "pending"
            self.store.finish_relay(relay["id"], status, now)
            self._log("relay", "ok" if status == "delivered" else "failed", call=relay["call_id"],
                      target=relay["target"], detail=f"relay {relay['id']} attempt {relay['attempts']}: {status} {result['detail']}".strip())
            out.append({"id": relay["id"], "target": relay["target"], "status": status, "attempts": relay["attempts"],
                        "detail": result["detail"]})
        return out

    def relays(self, status: str | None = None, limit: int = 50) -> list[dict]:
        return self.store.relays(status, limit)

    def history(self, limit: int = 100) -> list[dict]:
        return self.store.events(limit)


def _normalize(text: str) -> str:
    from cc.phone import normalize_phone

    return normalize_phone(text)
