"""Running one call through the IVR: classify the caller, walk the tree with ``cc.domain.ivr.step``, carry
out the actions on a ``Channel``, and keep the call record (one row, an append-only event log, and what
the caller left: voicemail, voice relay, queue request, greeting).

Kept light on imports: the classic-AGI entry point (one process per call) runs this.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cc.clock import Clock
from cc.domain import ivr
from cc.domain.records import record
from cc.domain.timestamps import iso
from cc.services.ports import CallCut, CallerHungUp, Channel, ChannelError

# Results that a later "completed" (the goodbye hang-up node after them) must not hide.
STICKY = {"queued": 3, "voicemail": 3, "relayed": 3, "greeting": 3, "transferred": 3}


@record(frozen=False)
class RuntimeSettings:
    prompts_dir: Path  # where prompt files are (cc's view)
    recordings_dir: Path  # where recordings go (cc's view)
    asterisk_prompts_dir: str | None = None  # the same folders as Asterisk sees them (chroot, other host)
    asterisk_recordings_dir: str | None = None
    record_format: str = "wav"
    dial_template: str = "PJSIP/{number}@trunk"

    def prompt_path(self, prompt: str) -> str:
        base = self.asterisk_prompts_dir or str(self.prompts_dir)
        return f"{base.rstrip('/')}/{prompt}"

    def recording_paths(self, name: str) -> tuple[str, Path]:
        """(path for Asterisk, path for cc), both without extension."""
        base = self.asterisk_recordings_dir or str(self.recordings_dir)
        return f"{base.rstrip('/')}/{name}", self.recordings_dir / name


@record(frozen=False)
class CallOutcome:
    call_id: str
    result: str
    reason: str
    path: list[str]


class QueueHandled(Exception):
    """The ACD took the caller at a queue node and they have left the queue (result, reason)."""

    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason


class TreeSource:
    """The current IVR tree from the database, parsed once per version (a change applies to new calls).

    Each call asks with its own store (connection); ``fallback(store)`` loads a tree when none is stored."""

    def __init__(self, fallback: Callable[[Any], tuple[int, ivr.Tree]] | None = None) -> None:
        self.fallback = fallback
        self._cached: tuple[int, ivr.Tree] | None = None
        self._lock = threading.Lock()

    def current(self, store: Any) -> tuple[int, ivr.Tree]:
        tree_id = store.current_tree_id()
        with self._lock:
            if self._cached and self._cached[0] == tree_id:
                return self._cached
            if tree_id is None:
                if self.fallback is None:
                    raise LookupError("no IVR tree loaded: run 'cc ivr import FILE'")
                loaded = self.fallback(store)
            else:
                row = store.tree(tree_id)
                loaded = (tree_id, ivr.tree_from_dict(json.loads(row["tree_json"])))
            self._cached = loaded
            return loaded


def unknown_caller(number: str) -> ivr.Caller:
    return ivr.Caller(number=number)


class IvrRuntime:
    """One instance serves many calls at once (the FastAGI server's loop, threads for the ACD's work);
    ``store_factory`` gives each call its own store (SQLite connections are not shared between threads)."""

    def __init__(
        self,
        store_factory: Callable[[], Any],
        clock: Clock,
        settings: RuntimeSettings,
        lookup: Callable[[Any, str], ivr.Caller],
        trees: TreeSource,
    ) -> None:
        self.store_factory = store_factory
        self.clock = clock
        self.settings = settings
        self.lookup = lookup
        self.trees = trees
        self.writer: Any = None  # set when call records go through a writer thread (flush/close it)

    def now(self) -> str:
        return iso(self.clock.now())

    def run(self, channel: Channel, script: str = "inbound", params: dict[str, str] | None = None) -> CallOutcome:
        store = self.store_factory()
        env = channel.env
        call = _Call(self, store, channel)
        call.id = store.start_call(self._new_call_record(env, script))
        try:
            return call.run(script)
        finally:
            store.close()

    def _new_call_record(self, env: dict[str, str], script: str) -> dict:
        """The first row of a call, from the AGI environment (classification fills in the rest)."""
        return {
            "id": env.get("agi_uniqueid") or _new_id(),
            "channel": env.get("agi_channel", ""),
            "caller": env.get("agi_callerid", ""),
            "dnid": env.get("agi_dnid", "") or env.get("agi_extension", ""),
            "script": script,
            "customer_id": None,
            "vip": 0,
            "blacklisted": 0,
            "tree_id": None,
            "started_at": self.now(),
        }

    def fail_early(self, env: dict[str, str], script: str, reason: str) -> str:
        """Record a call whose AGI session broke before the IVR could start."""
        store = self.store_factory()
        call_id = store.start_call(self._new_call_record(env, script))
        try:
            store.add_event(call_id, self.now(), "error", "", {"reason": reason})
            store.end_call(call_id, self.now(), [], "error", reason)
        finally:
            store.close()
        return call_id


class _Call:
    def __init__(self, runtime: IvrRuntime, store: Any, channel: Channel) -> None:
        self.rt = runtime
        self.store = store
        self.channel = channel
        self.id = ""
        self.caller = ivr.Caller()
        self.state: ivr.CallState | None = None
        self.sticky: tuple[str, str] | None = None
        self.recordings = 0
        self.logged_path = 0

    def event(self, event_kind: str, node: str = "", **detail: Any) -> None:
        self.store.add_event(self.id, self.rt.now(), event_kind, node, detail)

    def run(self, script: str) -> CallOutcome:
        result, reason = "error", "internal error"
        try:
            self.event("start", "", script=script, callerid=self.channel.env.get("agi_callerid", ""))
            self.channel.answer()
            self.store.answer(self.id, self.rt.now())
            raw = self.channel.env.get("agi_callerid", "")
            self.caller = self.rt.lookup(self.store, raw)
            self.store.classify(self.id, self.caller.number, self.caller.customer_id, self.caller.vip, self.caller.blacklisted)
            self.event(
                "classify", "", known=self.caller.known, vip=self.caller.vip, blacklisted=self.caller.blacklisted
            )
            if self.caller.vip:
                self.channel.set_variable("CC_PRIORITY", "1")
            tree_id, tree = self.rt.trees.current(self.store)
            self.store.set_tree(self.id, tree_id)
            result, reason = self.walk(tree, script)
        except QueueHandled as done:  # the caller left the ACD's queue: its result ends the call
            result, reason = done.result, done.reason
        except CallerHungUp as exc:
            node = self.state.node if self.state else ""
            where = f" at node '{node}'" if node else ""
            result = self.sticky[0] if self.sticky else "abandoned"
            reason = f"{exc}{where}" if isinstance(exc, CallCut) else f"caller hung up{where} ({exc})"
            self.event("hangup", node, detail=str(exc))
        except ChannelError as exc:
            result, reason = "error", f"AGI protocol error: {exc}"
            self.event("error", self.state.node if self.state else "", reason=str(exc))
        except Exception as exc:  # a bug must not take the server down; the record says what happened
            import logging

            logging.getLogger("cc.ivr").exception("call %s: internal error", self.id)
            result, reason = "error", f"internal error: {type(exc).__name__}: {exc}"
            self.event("error", self.state.node if self.state else "", reason=reason)
        path = list(self.state.path) if self.state else []
        self.store.end_call(self.id, self.rt.now(), path, result, reason)
        self.event("end", "", result=result, reason=reason)
        return CallOutcome(self.id, result, reason, path)

    def walk(self, tree: ivr.Tree, script: str) -> tuple[str, str]:
        current = ivr.start(tree, self.caller, script)
        if self.caller.blacklisted:
            self.event("refused", "", reason="blacklisted")
        for _ in range(10_000):
            self.state = current.state
            self.log_path()
            event = self.execute(tree, current.actions)
            if current.end is not None:
                end = current.end
                if self.sticky and end.result in ("completed", "no_input", "abandoned"):
                    return self.sticky[0], f"{self.sticky[1]}; {end.reason}"
                return end.result, end.reason
            if event is None:
                return "error", f"node '{current.state.node}' gave no input action"
            if isinstance(event, ivr.Key):
                self.event("key", current.state.node, key=event.key or "timeout")
            elif isinstance(event, ivr.Digits):
                self.event("digits", current.state.node, digits=event.digits)
            current = ivr.step(tree, self.caller, current.state, event)
        return "error", "too many steps"

    def log_path(self) -> None:
        assert self.state is not None
        for node in self.state.path[self.logged_path :]:
            self.event("node", node)
        self.logged_path = len(self.state.path)

    def execute(self, tree: ivr.Tree, actions: tuple[ivr.Action, ...]) -> ivr.Event | None:
        ch = self.channel
        settings = self.rt.settings
        node = self.state.node if self.state else ""
        for action in actions:
            if isinstance(action, ivr.Play):
                key = ch.play(settings.prompt_path(action.prompt), action.keys)
                if key and key in action.keys:
                    return ivr.Key(key)
            elif isinstance(action, ivr.PlayFile):
                key = ch.play(action.file, action.keys)
                if key and key in action.keys:
                    return ivr.Key(key)
            elif isinstance(action, ivr.SayNumber):
                key = ch.say_number(action.number, action.keys)
                if key and key in action.keys:
                    return ivr.Key(key)
            elif isinstance(action, ivr.SayDigits):
                key = ch.say_digits(action.digits, action.keys)
                if key and key in action.keys:
                    return ivr.Key(key)
            elif isinstance(action, ivr.WaitKey):
                return ivr.Key(ch.wait_key(action.timeout))
            elif isinstance(action, ivr.ReadDigits):
                return ivr.Digits(ch.read_digits(action.timeout, action.max_digits))
            elif isinstance(action, ivr.Record):
                self.recordings += 1
                name = f"{action.kind}-{_safe(self.id)}-{self.recordings}"
                for_asterisk, _ = settings.recording_paths(name)
                settings.recordings_dir.mkdir(parents=True, exist_ok=True)
                started = time.monotonic()
                duration = ch.record(for_asterisk, settings.record_format, action.max_seconds, action.beep)
                if duration < 0:  # nothing recorded (the channel said so)
                    self.event("record_failed", node, file=for_asterisk)
                    return ivr.Recorded("", 0)
                duration = duration or int((time.monotonic() - started) * 1000)
                self.event("record", node, file=for_asterisk, duration_ms=duration)
                return ivr.Recorded(for_asterisk, duration)
            elif isinstance(action, ivr.QueueRequest):
                self.store.add_queue_request(self.id, action.queue, self.caller.number, action.priority, self.rt.now())
                self.event("queue", node, queue=action.queue, priority=action.priority)
                self.sticky = ("queued", f"queued for '{action.queue}'")
                hook = getattr(self.rt, "acd", None)  # the ACD holds the caller (cc/telephony/queue_handler.py)
                handled = hook(self, action.queue) if hook is not None else None
                if handled is not None:
                    raise QueueHandled(*handled)
            elif isinstance(action, ivr.Store):
                self.keep(action, action.node or node)
            elif isinstance(action, ivr.Transfer):
                self.event("transfer", node, number=action.number)
                status = ch.transfer(action.number)
                self.event("transfer_done", node, number=action.number, dialstatus=status)
            elif isinstance(action, ivr.Hangup):
                ch.hangup()
        return None

    def keep(self, action: ivr.Store, node: str) -> None:
        fmt = self.rt.settings.record_format
        at = self.rt.now()
        if action.kind == "voicemail":
            self.store.add_voicemail(self.id, self.caller.number, node, action.file, fmt, action.duration_ms, at)
            self.sticky = ("voicemail", f"voicemail left at '{node}'")
        elif action.kind == "relay":
            self.store.add_relay(self.id, self.caller.number, action.target, action.file, fmt, action.duration_ms, at)
            self.sticky = ("relayed", f"voice relay to {action.target} stored (pending delivery)")
        elif action.kind == "greeting":
            self.install_greeting(action)
            self.store.add_greeting(self.id, action.target, action.file, self.caller.number, at)
            self.sticky = ("greeting", f"greeting '{action.target}' recorded")
        self.event("store", node, kind=action.kind, file=action.file, target=action.target)

    def install_greeting(self, action: ivr.Store) -> None:
        """Copy the recording over the prompt's sound file (cc's view of the recordings folder)."""
        settings = self.rt.settings
        name = action.file.rsplit("/", 1)[-1]
        source = settings.recordings_dir / f"{name}.{settings.record_format}"
        if source.exists():
            settings.prompts_dir.mkdir(parents=True, exist_ok=True)
            for old in settings.prompts_dir.glob(f"{action.target}.*"):
                old.unlink()
            import shutil

            shutil.copyfile(source, settings.prompts_dir / f"{action.target}.{settings.record_format}")


def _new_id() -> str:
    import uuid

    return uuid.uuid4().hex[:16]


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40]
