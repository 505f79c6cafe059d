"""The ACD on an AGI session: the ``QueueChannel`` over pyst2's AGI (music on hold, waits, prompts, Dial,
MixMonitor, voicemail), the hook the IVR's queue node calls, and the ``acd_answered`` AGI script the
agent's channel runs when the agent picks up (Dial's ``U()`` option, context ``cc-acd-answered``).

Dial contract: ``Dial(AGENT,RING_SECONDS,gU(cc-acd-answered^URL^GONE-URL))`` where URL is
``agi://HOST:PORT/acd_answered?w=WAITING_ID`` — the subroutine marks the agent on_call the moment the
call is answered, so the live state is right during the conversation — and GONE-URL (the same with
``gone=1``) is called by a hangup handler when the agent's leg ends: the agent wraps up even when the
caller goes on with someone else (a transfer) (``render_acd_contexts``). During Dial a keep-alive thread
shows the handler is alive, so a handler that dies mid-conversation has its agent released by the
dispatcher's sweep (``AcdService.expire_gone``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asterisk import agi as pyst_agi

from cc.clock import Clock, SystemClock
from cc.config import Config
from cc.services.acd_calls import DialResult, HoldOutcome, QueueCallFlow
from cc.services.ports import CallerHungUp, ChannelError
from cc.store.calls import connect
from cc.telephony.acd_dialplan import ANSWERED_CONTEXT, render_acd_contexts  # noqa: F401 (re-exported)
from cc.telephony.agi import DEFAULT_READ_TIMEOUT, AgiChannel, _quote_arg

ANSWERED_SCRIPT = "acd_answered"
LONGEST_CALL = 4 * 3600  # seconds an AGI Dial may hold the session (a conversation)


@dataclass
class QueueSettings:
    prompt_path: Callable[[str], str]
    recordings_dir: Path  # cc's view
    asterisk_recordings_dir: str  # Asterisk's view
    record_format: str = "wav"
    music_class: str = "default"
    answered_url: Callable[[int], str] = lambda wid: ""
    gone_url: Callable[[int], str] = lambda wid: ""
    keep_alive: Callable[[int], None] | None = None  # shows the handler is alive during Dial (own connection)
    keep_alive_seconds: float = 10.0


def queue_settings(config: Config, prompt_path: Callable[[str], str]) -> QueueSettings:
    from cc.telephony.dialplan import agi_url

    rec = Path(config.acd.recordings_dir or config.data_dir / "recordings")
    base = agi_url(config.agi.host, config.agi.port, ANSWERED_SCRIPT, config.agi.secret)
    joiner = "&" if "?" in base else "?"
    return QueueSettings(
        prompt_path=prompt_path,
        recordings_dir=rec,
        asterisk_recordings_dir=config.acd.asterisk_recordings_dir or str(rec),
        record_format=config.acd.record_format,
        music_class=config.acd.music_class,
        answered_url=lambda wid: f"{base}{joiner}w={wid}",
        gone_url=lambda wid: f"{base}{joiner}w={wid}&gone=1",
        keep_alive=_keep_alive(config) if config.acd.handler_lease_seconds > 0 else None,
        keep_alive_seconds=max(0.2, config.acd.handler_lease_seconds / 3),
    )


def gone_url(config: Config, user: str, call_id: str) -> str:
    """The AGI URL the hangup handler on an agent's click-to-dial channel calls."""
    from urllib.parse import quote

    from cc.telephony.dialplan import agi_url

    base = agi_url(config.agi.host, config.agi.port, ANSWERED_SCRIPT, config.agi.secret)
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}u={quote(user)}&c={quote(call_id)}&gone=1"


def _keep_alive(config: Config) -> Callable[[int], None]:
    def touch(waiting_id: int) -> None:
        from cc.domain.timestamps import iso
        from cc.store.acd import AcdStore

        conn = connect(config.db)
        try:
            AcdStore(conn).touch(waiting_id, iso(SystemClock().now()))
        finally:
            conn.close()

    return touch


class AgiQueueChannel:
    """``QueueChannel`` over an ``AgiChannel``."""

    def __init__(self, channel: AgiChannel, settings: QueueSettings) -> None:
        self.channel = channel
        self.agi = channel.agi
        self.settings = settings

    def music(self, on: bool) -> None:
        try:
            if on:
                self.agi.execute("SET MUSIC", "on", self.settings.music_class)
            else:
                self.agi.execute("SET MUSIC", "off")
        except pyst_agi.AGIAppError:
            self.agi.hung_up = True
            raise CallerHungUp("caller hung up") from None

    def wait(self, seconds: float) -> str:
        try:
            result = self.agi.execute("WAIT FOR DIGIT", max(1, int(seconds * 1000)), timeout=seconds + DEFAULT_READ_TIMEOUT)
        except pyst_agi.AGIAppError:  # -1: the channel is gone
            self.agi.hung_up = True
            raise CallerHungUp("caller hung up while waiting") from None
        value = result["result"][0]
        try:
            code = int(value)
        except ValueError:
            raise ChannelError(f"not a key code: {value!r}") from None
        return chr(code) if code > 0 else ""

    def play(self, prompt: str, keys: str = "") -> str:
        return self.channel.play(self.settings.prompt_path(prompt), keys)

    def say_number(self, number: int) -> None:
        self.channel.say_number(number)

    def dial(self, dial: str, ring_seconds: int, waiting_id: int, options: str = "") -> DialResult:
        url = self.settings.answered_url(waiting_id)
        gone = self.settings.gone_url(waiting_id) if url else ""
        sub = f"U({ANSWERED_CONTEXT}^{url}" + (f"^{gone})" if gone else ")") if url else ""
        # g: when the agent hangs up first the caller stays (survey); without it Dial returns -1 (hang up)
        opts = ("" if "g" in options else "g") + options + sub
        stop = threading.Event()
        if self.settings.keep_alive is not None:
            threading.Thread(target=self._keep_alive, args=(waiting_id, stop), daemon=True,
                             name=f"acd-keepalive-{waiting_id}").start()
        try:
            self.agi.execute("EXEC", "Dial", _quote_arg(f"{dial},{int(ring_seconds)},{opts}"), timeout=LONGEST_CALL)
        except pyst_agi.AGIAppError:
            self.agi.hung_up = True
            raise CallerHungUp("caller hung up during Dial") from None
        finally:
            stop.set()
        status = self.channel.get_variable("DIALSTATUS") or "UNKNOWN"
        return DialResult(status, True)

    def _keep_alive(self, waiting_id: int, stop: threading.Event) -> None:
        touch = self.settings.keep_alive
        while touch is not None and not stop.wait(self.settings.keep_alive_seconds):
            try:
                touch(waiting_id)
            except Exception:  # a locked database now and then: the next beat comes soon
                pass

    def start_recording(self, name: str) -> str:
        settings = self.settings
        settings.recordings_dir.mkdir(parents=True, exist_ok=True)
        file = f"{settings.asterisk_recordings_dir.rstrip('/')}/{name}.{settings.record_format}"
        self.agi.execute("EXEC", "MixMonitor", _quote_arg(file))
        return file

    def record_message(self, name: str, max_seconds: int) -> tuple[str, int]:
        settings = self.settings
        settings.recordings_dir.mkdir(parents=True, exist_ok=True)
        file = f"{settings.asterisk_recordings_dir.rstrip('/')}/{name}"
        duration = self.channel.record(file, settings.record_format, max_seconds, True)
        return file, duration


def _acd_service(config: Config, clock: Clock, conn: Any):  # noqa: ANN202
    from cc.telephony.acd_wiring import acd_service

    return acd_service(config, conn, clock)


def agents_configured(config: Config) -> bool:
    conn = connect(config.db)
    try:
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM acd_agents)").fetchone()
        return bool(row[0])
    except Exception:
        return False
    finally:
        conn.close()


def make_hook(config: Config, clock: Clock | None = None, prompt_path: Callable[[str], str] | None = None,
              *, always: bool = False):  # noqa: ANN201
    """The IVR runtime's ``acd`` hook: ``hook(call, queue) -> (result, reason)`` or None when the ACD is
    off (``acd.enabled: false``, or unset and no agent is set up: the IVR's own queue message plays).
    ``always``: run the ACD whatever the setting (a call transferred into a queue)."""
    clock = clock or SystemClock()

    def hook(call: Any, queue: str) -> tuple[str, str] | None:
        enabled = config.acd.enabled
        if not always and (enabled is False or (enabled is None and not agents_configured(config))):
            return None
        rt_settings = call.rt.settings
        settings = queue_settings(config, prompt_path or rt_settings.prompt_path)
        conn = connect(config.db)
        try:
            service = _acd_service(config, clock, conn)
            flow = QueueCallFlow(service, poll_seconds=config.acd.poll_seconds, locale=config.resolved_locale(),
                                 dial_options=config.acd.dial_options)
            channel = AgiQueueChannel(call.channel, settings)
            node = call.state.node if call.state else ""
            if queue not in service.queues():  # not an ACD queue: the IVR's own queue message plays
                call.event("acd_unknown_queue", node, queue=queue)
                return None

            def log(kind: str, detail: dict[str, Any]) -> None:
                call.event(kind, node, **{k: v for k, v in detail.items() if k != "node"})
                if kind == "acd_end":  # a later hang-up must not hide that an agent took the call
                    call.sticky = ("answered", f"answered by {detail.get('agent')} in '{queue}'")
                elif kind == "acd_transfer":  # nor that the agent passed it on
                    call.sticky = ("transferred", f"answered by {detail.get('agent')} in '{queue}',"
                                                  f" transferred to {detail.get('to')}")

            def voicemail(file: str, duration_ms: int) -> None:
                call.store.add_voicemail(call.id, call.caller.number, node, file, rt_settings.record_format,
                                         duration_ms, call.rt.now())

            outcome: HoldOutcome = flow.run(
                channel, call.id, queue, call.caller.number, vip=call.caller.vip,
                blacklisted=call.caller.blacklisted, log=log, voicemail=voicemail,
            )
            return outcome.result, outcome.reason
        finally:
            conn.close()

    return hook


def agent_answered(agi: Any, params: dict[str, str], config: Config, clock: Clock | None = None) -> str:
    """The ``acd_answered`` script (on the agent's channel, from Dial's U() subroutine); with ``gone=1``
    the hangup handler's call when the agent's leg ends (``w``: an ACD call, ``u`` and ``c``: an agent's
    click-to-dial call)."""
    from cc.errors import CcError

    gone = params.get("gone") == "1"
    try:
        waiting_id = int(params["w"]) if params.get("w") or not gone else None
    except ValueError:
        return "bad request"
    if gone and waiting_id is None and not params.get("u"):
        return "bad request"
    conn = connect(config.db)
    try:
        from cc.services.acd import AcdService
        from cc.store.acd import AcdStore
        from cc.telephony.acd_wiring import settings_from_config

        service = AcdService(AcdStore(conn), clock or SystemClock(), settings_from_config(config))
        if gone:
            released = service.agent_gone(waiting_id, user=params.get("u", ""), call_id=params.get("c", ""))
            return f"released {released}" if released else "nothing to release"
        service.answered(waiting_id)
        return "answered"
    except CcError as exc:
        return f"refused: {exc.message}"
    finally:
        conn.close()


class _QueueOnlyCall:
    """What the hook needs of an IVR call, for a call that comes straight into a queue (a transfer)."""

    def __init__(self, runtime: Any, store: Any, channel: AgiChannel, call_id: str, caller: Any) -> None:
        self.rt = runtime
        self.store = store
        self.channel = channel
        self.id = call_id
        self.caller = caller
        self.state = None
        self.sticky: tuple[str, str] | None = None

    def event(self, event_kind: str, node: str = "", **detail: Any) -> None:
        self.store.add_event(self.id, self.rt.now(), event_kind, node, detail)


def queue_script(agi: Any, params: dict[str, str], runtime: Any, config: Config) -> str:
    """The ``acd_queue`` script (``agi://HOST:PORT/acd_queue?queue=NAME``): a call sent straight into a
    queue, e.g. transferred by an agent (cc/telephony/control_dialplan.py). Keeps its own call record."""
    import uuid

    from cc.errors import CcError

    queue = params.get("queue", "")
    env = agi.env
    channel = AgiChannel(agi, dial_template=runtime.settings.dial_template)
    store = runtime.store_factory()
    try:
        call_id = store.start_call({
            "id": env.get("agi_uniqueid") or uuid.uuid4().hex[:16], "channel": env.get("agi_channel", ""),
            "caller": env.get("agi_callerid", ""), "dnid": env.get("agi_dnid", ""), "script": "acd_queue",
            "customer_id": None, "vip": 0, "blacklisted": 0, "tree_id": None, "started_at": runtime.now(),
        })
        call = _QueueOnlyCall(runtime, store, channel, call_id, runtime.lookup(store, env.get("agi_callerid", "")))
        call.event("start", "", script="acd_queue", queue=queue)
        try:
            result, reason = make_hook(config, runtime.clock, always=True)(call, queue) or ("error", "no ACD")
        except CallerHungUp as exc:
            result, reason = (call.sticky or ("abandoned", ""))[0], f"caller hung up ({exc})"
        except CcError as exc:
            result, reason = "error", exc.message
        except ChannelError as exc:
            result, reason = "error", f"AGI protocol error: {exc}"
        store.end_call(call_id, runtime.now(), [], result, reason)
        call.event("end", "", result=result, reason=reason)
        if not agi.hung_up:
            try:
                channel.set_variable("CC_IVR_STATUS", result)
            except Exception:
                pass
        return result
    finally:
        store.close()
