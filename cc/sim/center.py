"""A live simulated call center: callers, agents and customers moving through the real services.

``SimCenter`` runs on a background thread against a cc database that has agents and customers (the demo's):
simulated callers arrive (Poisson, seeded), walk the real IVR (``IvrRuntime``, so the call rows are written
the way the IVR writes them), wait in the real ACD queues (``QueueCallFlow``: the real dispatcher, VIP
priority, position announcements, overflow) and some hang up while waiting. Simulated agents, each signed in
through the agent console's service (``ConsoleService``), answer, talk, key orders for known customers,
open complaints, wrap up and sometimes pause; callers answer the post-call survey. Confirmation SMS go out
through the real SMS gateway to the modem simulator (``SimulatedSmsLine``) and simulated customers reply.

Time is simulated (``SimClock``): stepped from event to event as fast as the services allow (headless), or
paced at ``speed`` times real time (live, for the dashboard). Each caller's handler runs on its own thread,
as on the FastAGI server, but the engine hands control to one thread at a time (a caller's thread runs
until its channel waits, then the engine goes on), so a run is deterministic for a seed, apart from the SMS
gateway's own threads (which only decide *when* a reply lands, not what it says).
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cc.config import Config
from cc.errors import CcError, UsageError
from cc.services.acd_calls import DialResult, QueueCallFlow
from cc.services.ivr import SimulatedChannel
from cc.services.ports import CallerHungUp

# What callers want: (intent, weight, IVR keys, talk seconds range). Keys follow the shipped IVR tree
# (cc/data/ivr/default.yaml): 1 orders, 3 complaints (then 1 or 2), 0 operator, 4 voicemail.
INTENTS = (
    ("orders", 62, ("1",), (60, 180)),
    ("complaint", 10, ("3", "1"), (90, 240)),
    ("operator", 15, ("0",), (30, 90)),
    ("voicemail", 6, ("4",), (0, 0)),
    ("hangs_up", 7, (), (0, 0)),  # hangs up in the menu
)
SURVEY_KEYS = (("5", 40), ("4", 25), ("3", 10), ("2", 4), ("1", 3), ("", 18))
REPLIES = (("Y", 62), ("是", 15), ("N", 10), (None, 13))  # customers' answers to the confirmation SMS
COMPLAINTS = (("delivery", "今天的奶没有送到"), ("quality", "酸奶有异味"), ("billing", "扣款金额不对"),
              ("delivery", "送奶时间太晚了"))

HANG_UP = object()  # resumed with this, a caller's channel raises CallerHungUp
FIBER_TIMEOUT = 60.0  # real seconds a caller's thread may take between two waits


class SimClock:
    """Simulated time from ``start``: stepped by the engine (``speed`` None) or flowing at ``speed`` x real time."""

    def __init__(self, start: datetime, speed: float | None = None) -> None:
        self.start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        self.speed = speed
        self._offset = 0.0
        self._real0 = time.monotonic()
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        """Simulated seconds since ``start``."""
        with self._lock:
            if self.speed is not None:
                return self._offset + (time.monotonic() - self._real0) * self.speed
            return self._offset

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def step(self, seconds: float) -> None:
        """Stepped mode: move to ``seconds`` after start (never backwards)."""
        with self._lock:
            if self.speed is None:
                self._offset = max(self._offset, seconds)

    def unpace(self) -> None:
        """From flowing to stepped time (the end of a live run is fast-forwarded)."""
        with self._lock:
            if self.speed is not None:
                self._offset += (time.monotonic() - self._real0) * self.speed
                self.speed = None


@dataclass
class SimSummary:
    minutes: float = 0.0
    calls: int = 0  # callers who rang the hotline
    ivr_results: Counter = field(default_factory=Counter)
    offered: int = 0  # entries into an ACD queue
    exits: Counter = field(default_factory=Counter)  # queue exits by reason (answered, abandoned, ...)
    orders_keyed: int = 0
    orders_by_status: Counter = field(default_factory=Counter)
    orders_refused: int = 0
    complaints: int = 0
    surveys: int = 0
    sms_sent: int = 0
    sms_replies: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return self.exits.get("answered", 0)

    @property
    def abandoned(self) -> int:
        return self.exits.get("abandoned", 0)

    def lines(self, locale: str = "en") -> list[str]:
        """The summary, one line per subject (``cc demo`` prints it; en for scripts)."""
        from cc.i18n import CATALOG, t

        def counts(counter: Counter, label: Callable[[str], str]) -> str:
            return ", ".join(f"{label(k)} {v}" for k, v in sorted(counter.items())) or t("sim_none", locale)

        def result(key: str) -> str:
            return t(f"sim_{key}", locale) if f"sim_{key}" in CATALOG["en"] else key

        other = Counter({k: v for k, v in self.exits.items() if k not in ("answered", "abandoned")})
        out = [
            t("sim_minutes", locale).format(minutes=f"{self.minutes:.1f}"),
            t("sim_calls", locale).format(calls=self.calls, results=counts(self.ivr_results, result)),
            t("sim_queues", locale).format(offered=self.offered, answered=self.answered, abandoned=self.abandoned)
            + (t("sim_other", locale).format(other=counts(other, result)) if other else ""),
            t("sim_orders", locale).format(keyed=self.orders_keyed, statuses=counts(self.orders_by_status, lambda k: t(k, locale)),
                                           refused=self.orders_refused),
            t("sim_care", locale).format(complaints=self.complaints, surveys=self.surveys),
            t("sim_sms", locale).format(sent=self.sms_sent, replies=self.sms_replies),
        ]
        if self.errors:
            out.append(t("sim_errors", locale).format(n=len(self.errors), first=self.errors[0]))
        return out


class _Fiber:
    """A caller's handler on its own thread, run by the engine one step at a time: the engine resumes it,
    it runs until its channel waits (``pause``), and the engine goes on."""

    def __init__(self, name: str, body: Callable[[_Fiber], None]) -> None:
        self.name = name
        self._in: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.SimpleQueue = queue.SimpleQueue()
        self.done = False
        self.hung_up = False
        self.thread = threading.Thread(target=self._main, args=(body,), name=f"cc-sim-{name}", daemon=True)
        self.thread.start()

    def _main(self, body: Callable[[_Fiber], None]) -> None:
        try:
            if self._in.get() is HANG_UP:
                self._out.put(("done", None))
                return
            body(self)
        except BaseException as exc:  # noqa: BLE001 - reported to the engine, which records it
            self._out.put(("error", exc))
            return
        self._out.put(("done", None))

    def resume(self, value: Any) -> tuple[str, Any]:
        """Run the caller until its next request: ("sleep", seconds), ("engine", fn), ("done"|"error", x)."""
        self._in.put(value)
        try:
            request = self._out.get(timeout=FIBER_TIMEOUT)
        except queue.Empty:
            raise RuntimeError(f"simulated call {self.name} did not come back within {FIBER_TIMEOUT:.0f} s") from None
        if request[0] in ("done", "error"):
            self.done = True
            self.thread.join(5)
        return request

    # -- on the caller's thread ------------------------------------------------------------------------
    def pause(self, request: tuple[str, Any]) -> Any:
        self._out.put(request)
        value = self._in.get()
        if value is HANG_UP:
            self.hung_up = True
            raise CallerHungUp("the simulation ended the call")
        return value

    def sleep(self, seconds: float) -> None:
        self.pause(("sleep", seconds))

    def on_engine(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the engine's thread (the agents' services live there) and return its result."""
        return self.pause(("engine", fn))


@dataclass
class _Caller:
    n: int
    number: str  # as Asterisk gives it (national digits)
    phone: str  # E.164
    known: bool
    intent: str
    keys: tuple[str, ...]
    talk: float
    patience: float
    rng: random.Random


class _CallerChannel(SimulatedChannel):
    """The IVR's ``Channel`` for a simulated caller: keys from the caller's script, time from the engine."""

    def __init__(self, engine: SimCenter, fiber: _Fiber, caller: _Caller, tree: Any) -> None:
        super().__init__(tree, caller.number, caller.keys, say=lambda text: None)
        self.env["agi_uniqueid"] = f"sim-{engine.run_id}-{caller.n}"
        self.env["agi_channel"] = f"Sim/{caller.number}-{caller.n}"
        self.engine = engine
        self.fiber = fiber
        self.caller = caller

    def wait_key(self, timeout: int) -> str:
        self.fiber.sleep(self.caller.rng.uniform(2.0, 5.0))  # the caller listens and thinks
        if not self.caller.keys:
            raise CallerHungUp("the caller hung up in the menu")
        return super().wait_key(timeout)

    def record(self, file: str, fmt: str, max_seconds: int, beep: bool) -> int:
        seconds = self.caller.rng.uniform(8.0, 25.0)
        self.fiber.sleep(seconds)
        return int(seconds * 1000)


class _QueueChannel:
    """The ACD's ``QueueChannel`` for a simulated caller: waits in simulated time with a patience limit,
    and "rings" the simulated agent behind the dial string."""

    def __init__(self, engine: SimCenter, call: Any, acd: Any) -> None:
        channel: _CallerChannel = call.channel
        self.engine = engine
        self.fiber = channel.fiber
        self.caller = channel.caller
        self.call = call
        self.acd = acd
        self.gives_up_at: float | None = engine.t + self.caller.patience

    def music(self, on: bool) -> None:
        pass

    def wait(self, seconds: float) -> str:
        if self.gives_up_at is not None and self.engine.t + seconds >= self.gives_up_at:
            self.fiber.sleep(max(0.0, self.gives_up_at - self.engine.t))
            raise CallerHungUp("the caller gave up waiting")
        self.fiber.sleep(seconds)
        return ""

    def play(self, prompt: str, keys: str = "") -> str:
        rng = self.caller.rng
        if keys == "12345":  # the post-call survey
            key = rng.choices([k for k, _ in SURVEY_KEYS], weights=[w for _, w in SURVEY_KEYS])[0]
            if key:
                self.engine.summary.surveys += 1
            return key
        if keys == "12":  # waited too long: 1 voicemail, 2 call back
            return rng.choice(["1", "2", ""])
        return ""

    def say_number(self, number: int) -> None:
        pass

    def start_recording(self, name: str) -> str:
        return f"{self.engine.recordings_dir}/{name}.wav"

    def record_message(self, name: str, max_seconds: int) -> tuple[str, int]:
        seconds = self.caller.rng.uniform(8.0, 20.0)
        self.fiber.sleep(seconds)
        return f"{self.engine.recordings_dir}/{name}", int(seconds * 1000)

    def dial(self, dial: str, ring_seconds: int, waiting_id: int, options: str = "") -> DialResult:
        rng = self.caller.rng
        agent = self.engine.agent_by_dial.get(dial)
        ring = rng.uniform(2.0, 6.0)
        if agent is None or rng.random() < 0.04:  # away from the desk: the phone rings out
            self.fiber.sleep(ring_seconds)
            if agent is not None:
                self.fiber.on_engine(lambda: self.engine.later(rng.uniform(20, 60), self.engine.agent_back, agent))
            return DialResult("NOANSWER", True)
        self.fiber.sleep(ring)
        self.gives_up_at = None
        self.acd.answered(waiting_id)  # what the agent's answered-script does when they pick up
        talk = self.caller.talk
        self._talk(talk / 2, waiting_id)
        code = self.fiber.on_engine(lambda: self.engine.agent_work(agent, self.call.id, self.caller))
        self._talk(talk / 2, waiting_id)
        self.fiber.on_engine(lambda: self.engine.later(rng.uniform(2, 8), self.engine.agent_wrap_up, agent,
                                                       self.call.id, self.caller, code))
        return DialResult("ANSWER", True)


    def _talk(self, seconds: float, waiting_id: int) -> None:
        """The conversation goes on; the handler shows a sign of life as a real one does (the ACD frees the
        agent of a call whose handler went quiet for the handler lease)."""
        lease = self.engine.config.acd.handler_lease_seconds
        step = lease / 4 if lease > 0 else seconds
        while seconds > 0:
            chunk = min(step, seconds)
            self.fiber.sleep(chunk)
            seconds -= chunk
            self.acd.poll(waiting_id)


class SimCenter:
    """The simulation engine. ``start()`` it (a background thread), ``stop()`` it (returns the summary);
    or ``run(minutes)`` for a bounded headless run."""

    def __init__(self, config: Config, *, seed: int = 7, calls_per_minute: float = 2.0, speed: float | None = None,
                 start: datetime | None = None, poll_seconds: float = 5.0, sms: bool = True,
                 drain_seconds: float = 20.0) -> None:
        if calls_per_minute <= 0:
            raise UsageError("the call rate must be above 0 calls a minute", "e.g. --rate 3")
        if speed is not None and speed <= 0:
            raise UsageError("the speed must be above 0", "e.g. --speed 1 (real time) or --speed 10")
        self.config = config
        self.seed = seed
        self.rate = calls_per_minute / 60.0
        self.clock = SimClock(start or datetime.now(timezone.utc), speed)
        self.poll_seconds = poll_seconds
        self.use_sms = sms
        self.drain_seconds = drain_seconds
        self.rng = random.Random(seed)
        self.run_id = f"{seed}-{int(self.clock.start.timestamp())}"
        self.recordings_dir = str(config.data_dir / "recordings")
        self.summary = SimSummary()
        self.t = 0.0
        self.agent_by_dial: dict[str, str] = {}
        self.consoles: dict[str, Any] = {}
        self.line: Any = None
        self.started = threading.Event()  # set once agents are signed in and callers may come
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._until: float | None = None
        self._heap: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count()
        self._fibers: set[_Fiber] = set()
        self._pending_acts = 0
        self._replies: dict[str, str | None] = {}  # order code -> the customer's answer (None: never replies)
        self._replied: list[str] = []
        self._thread: threading.Thread | None = None
        self._make: Any = None  # the consoles' factory (console_factory), on the engine thread's connection
        self._error: BaseException | None = None
        self.resumes = 0  # hand-overs to callers' threads (bench)
        self.max_lag = 0.0  # paced: the most simulated seconds the engine ran behind the clock (bench)

    # -- control (any thread) --------------------------------------------------------------------------
    def start(self, minutes: float | None = None) -> SimCenter:
        """Start the engine thread; callers keep coming until ``stop()`` (or for ``minutes`` simulated minutes)."""
        self._until = minutes * 60.0 if minutes is not None else None
        self._thread = threading.Thread(target=self._main, name="cc-sim-engine", daemon=True)
        self._thread.start()
        return self

    def wait_started(self, timeout: float = 30.0) -> None:
        if not self.started.wait(timeout) and self._error is None:
            raise RuntimeError("the simulated center did not start")
        self._raise()

    def stop(self, timeout: float = 60.0) -> SimSummary:
        """No new callers; calls in progress are fast-forwarded to their end; returns the summary."""
        self._stop.set()
        return self.join(timeout)

    def join(self, timeout: float = 60.0) -> SimSummary:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"the simulated center did not stop within {timeout:.0f} s")
        self._raise()
        return self.summary

    def run(self, minutes: float, timeout: float = 120.0) -> SimSummary:
        """Run ``minutes`` simulated minutes (then let the calls in progress end) and return the summary."""
        return self.start(minutes).join(timeout)

    def _raise(self) -> None:
        if self._error is not None:
            if isinstance(self._error, CcError):
                raise self._error
            raise RuntimeError(f"the simulated center failed: {type(self._error).__name__}: {self._error}") from self._error

    # -- the engine thread -----------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self._setup()
            try:
                self.started.set()
                self._loop()
                self._drain()
                self._collect()
            finally:
                self._teardown()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that stops or joins the engine
            self._error = exc
        finally:
            self.started.set()
            self.finished.set()

    def _setup(self) -> None:
        from cc.services.container import build_services
        from cc.telephony.handlers import build_runtime
        from cc.tui.backend import console_factory

        make = self._make = console_factory(self.config, self.clock, heartbeat_every=10.0, ami=False)
        first = make(None)
        self.services = build_services(self.config, db=first.services.db, clock=self.clock)
        self.acd = first.acd
        agents = self.acd.agents()
        if not agents:
            raise UsageError("no agents are set up to take the simulated calls", "run 'cc demo' on a fresh database, or 'cc agent set USER ...'")
        for view in agents:
            console = make(view["user"])
            console.sign_in()
            self.consoles[view["user"]] = console
            self.agent_by_dial[view["dial"]] = view["user"]
        self.customers = self.services.customers.search(limit=1000)
        self.runtime = build_runtime(self.config, self.clock)
        self.runtime.acd = self._queue_hook
        store = self.runtime.store_factory()
        try:
            self.tree = self.runtime.trees.current(store)[1]
        finally:
            store.close()
        if self.use_sms:
            from cc.demo import SimulatedSmsLine

            self.line = SimulatedSmsLine(self.config, clock=self.clock).__enter__()
        self._push(self.rng.expovariate(self.rate), "arrival", None)
        self._tick(15.0, self._heartbeats)
        self._tick(3.0, self._customers_reply)
        self._tick(60.0, self._expire_orders)

    def _teardown(self) -> None:
        try:
            for fiber in list(self._fibers):  # only after a failure: hang up whoever is left
                try:
                    self._hang_up(fiber)
                except Exception as exc:  # noqa: BLE001 - the first failure is the one reported
                    self.summary.errors.append(f"call {fiber.name}: {type(exc).__name__}: {exc}")
        finally:
            if self.line is not None:
                self.line.__exit__(None, None, None)
                self.summary.sms_sent = self.line.sent_count
            if self._make is not None:
                self._make.close()  # the engine thread's connection (the consoles' and self.services')

    def _push(self, at: float, kind: str, arg: Any) -> None:
        if kind == "act":
            self._pending_acts += 1
        heapq.heappush(self._heap, (at, next(self._seq), kind, arg))

    def _tick(self, every: float, fn: Callable[[], None]) -> None:
        self._push(self.t + every, "tick", (every, fn))

    def later(self, seconds: float, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule an agent's action (engine thread)."""
        self._push(self.t + seconds, "act", (fn, args))

    def _advance(self, at: float, paced: bool) -> bool:
        """Move simulated time to ``at``; paced: wait for it in real time. False when stopped meanwhile."""
        if paced and self.clock.speed is not None:
            while True:
                ahead = at - self.clock.elapsed()
                if ahead <= 0:
                    break
                if self._stop.wait(min(ahead / self.clock.speed, 0.25)):
                    return False
        self.t = max(self.t, at)
        self.clock.step(self.t)
        return True

    def _loop(self) -> None:
        while self._heap and not self._stop.is_set():
            at = self._heap[0][0]
            if self._until is not None and at > self._until:
                self._advance(self._until, paced=True)
                return
            if not self._advance(at, paced=True):
                return
            if self.clock.speed is not None:
                self.max_lag = max(self.max_lag, self.clock.elapsed() - at)
            self._process(heapq.heappop(self._heap))

    def _drain(self) -> None:
        """No new callers: run the calls in progress and the agents' pending actions to their end."""
        self.clock.unpace()
        self.t = max(self.t, self.clock.elapsed())  # a paced engine may lag the flowing clock: catch up
        self.summary.minutes = self.t / 60.0
        deadline = time.monotonic() + self.drain_seconds
        limit = self.t + 3600.0
        while self._heap and (self._fibers or self._pending_acts) and time.monotonic() < deadline:
            at = self._heap[0][0]
            if at > limit:
                break
            self._advance(at, paced=False)
            item = heapq.heappop(self._heap)
            if item[2] != "arrival":
                self._process(item)
        for fiber in list(self._fibers):
            self._hang_up(fiber)
        # Wrap-ups end (the longest is the complaints queue's 30 s) and the agents' consoles see it.
        self._advance(self.t + 60.0, paced=False)
        self._heartbeats()
        self._wait_for_replies(time.monotonic() + self.drain_seconds)

    def _process(self, item: tuple[float, int, str, Any]) -> None:
        _, _, kind, arg = item
        if kind == "arrival":
            self._arrive()
            self._push(self.t + self.rng.expovariate(self.rate), "arrival", None)
        elif kind == "resume":
            if not arg.done:
                self._step(arg, None)
        elif kind == "act":
            self._pending_acts -= 1
            fn, args = arg
            fn(*args)
        elif kind == "tick":
            every, fn = arg
            fn()
            self._tick(every, fn)

    def _step(self, fiber: _Fiber, value: Any) -> None:
        for _ in range(10_000):
            self.resumes += 1
            kind, arg = fiber.resume(value)
            value = HANG_UP if fiber.hung_up else None
            if kind == "sleep":
                if fiber.hung_up:
                    continue
                self._push(self.t + max(0.0, float(arg)), "resume", fiber)
                return
            if kind == "engine":
                value = arg()
                continue
            self._fibers.discard(fiber)
            if kind == "error":
                self.summary.errors.append(f"call {fiber.name}: {type(arg).__name__}: {arg}")
            return
        raise RuntimeError(f"simulated call {fiber.name} never waited")

    def _hang_up(self, fiber: _Fiber) -> None:
        if not fiber.done:
            self._step(fiber, HANG_UP)
        self._fibers.discard(fiber)

    # -- callers ---------------------------------------------------------------------------------------
    def _arrive(self) -> None:
        rng = random.Random(self.rng.getrandbits(64))
        n = self.summary.calls = self.summary.calls + 1
        if self.customers and rng.random() < 0.85:
            customer = rng.choice(self.customers)
            phone, known = customer.phone, True
        else:
            phone, known = f"+86138{rng.randint(10_000_000, 99_999_999)}", False
        intent, _, keys, talk = rng.choices(INTENTS, weights=[w for _, w, _, _ in INTENTS])[0]
        if intent == "complaint":
            keys = ("3", rng.choice("12"))
        caller = _Caller(n=n, number=phone.removeprefix("+86"), phone=phone, known=known, intent=intent, keys=keys,
                         talk=rng.uniform(*talk), patience=max(10.0, rng.expovariate(1 / 90.0)), rng=rng)

        def body(fiber: _Fiber) -> None:
            outcome = self.runtime.run(_CallerChannel(self, fiber, caller, self.tree))
            self.summary.ivr_results[outcome.result] += 1

        fiber = _Fiber(f"{n}", body)
        self._fibers.add(fiber)
        self._step(fiber, None)

    def _queue_hook(self, call: Any, queue_name: str) -> tuple[str, str] | None:
        """The IVR's queue node (on the caller's thread): the real ACD flow over the simulated channel,
        with the call's events and voicemail written as the telephony hook writes them."""
        from cc.store.calls import connect
        from cc.telephony.acd_wiring import acd_service

        conn = connect(self.config.db)
        try:
            service = acd_service(self.config, conn, self.clock)
            if queue_name not in service.queues():
                call.event("acd_unknown_queue", call.state.node if call.state else "", queue=queue_name)
                return None
            node = call.state.node if call.state else ""
            self.summary.offered += 1

            def log(kind: str, detail: dict[str, Any]) -> None:
                call.event(kind, node, **{k: v for k, v in detail.items() if k != "node"})
                if kind == "acd_end":
                    call.sticky = ("answered", f"answered by {detail.get('agent')} in '{queue_name}'")

            def voicemail(file: str, duration_ms: int) -> None:
                call.store.add_voicemail(call.id, call.caller.number, node, file, call.rt.settings.record_format,
                                         duration_ms, call.rt.now())

            flow = QueueCallFlow(service, poll_seconds=self.poll_seconds, locale=self.config.resolved_locale())
            outcome = flow.run(_QueueChannel(self, call, service), call.id, queue_name, call.caller.number,
                               vip=call.caller.vip, blacklisted=call.caller.blacklisted, log=log, voicemail=voicemail)
            return outcome.result, outcome.reason
        finally:
            conn.close()

    # -- agents (engine thread) ------------------------------------------------------------------------
    def agent_work(self, agent: str, call_id: str, caller: _Caller) -> str:
        """What the agent does during the conversation; returns the wrap-up code. Random draws come first,
        so a refusal does not change the rest of the run."""
        rng = caller.rng
        console = self.consoles[agent]
        wants_order = rng.random() < 0.8
        products = [p[0] for p in console.products()]
        picked = rng.sample(products, min(len(products), rng.choice([1, 1, 2])))
        items = [(sku, rng.randint(1, 2)) for sku in picked]
        frequency = rng.choice(["daily", "daily", "weekly"])
        deliveries = rng.choice([7, 14, 30])
        reply = rng.choices([r for r, _ in REPLIES], weights=[w for _, w in REPLIES])[0]
        category, text = rng.choice(COMPLAINTS)
        try:
            if caller.intent == "complaint":
                console.open_complaint(caller.phone, category, text, call_id=call_id)
                self.summary.complaints += 1
                return "complaint"
            if caller.intent == "orders" and caller.known and wants_order and items:
                progress = console.submit_order(caller.phone, items, None, frequency, deliveries, call_id=call_id)
                self.summary.orders_keyed += 1
                self._replies[progress.code] = reply
                return "order"
            return "enquiry"
        except CcError:
            if caller.intent == "orders":
                self.summary.orders_refused += 1
            return "no_sale"

    def agent_wrap_up(self, agent: str, call_id: str, caller: _Caller, code: str) -> None:
        console = self.consoles[agent]
        roll = caller.rng.random()
        pause = caller.rng.uniform(45, 150)
        try:
            console.wrap_up(call_id, caller.phone, code)
            if roll < 0.12:
                console.change_state("pause", "break")
                self.later(pause, self.agent_back, agent)
            elif roll < 0.5:
                console.done_wrapping()
        except CcError:
            pass  # already on the next call: the wrap-up time ran out

    def agent_back(self, agent: str) -> None:
        try:
            if self.consoles[agent].acd.agent_view(agent)["state"] in ("paused", "away", "wrap_up"):
                self.consoles[agent].change_state("ready")
        except CcError:
            pass

    def _heartbeats(self) -> None:
        for console in self.consoles.values():
            console.snapshot()

    def _expire_orders(self) -> None:
        self.services.orders.expire_due()

    # -- customers' SMS replies (engine thread) --------------------------------------------------------
    def _customers_reply(self) -> None:
        if self.line is None or not self._replies:
            return
        for message in self.line.simulator.sent_messages():
            for code in [c for c in self._replies if c in message.text]:
                answer = self._replies.pop(code)
                if answer is not None:
                    self.line.simulator.deliver(message.to.lstrip("+").removeprefix("86"), f"{answer} {code}")
                    self._replied.append(code)
                    self.summary.sms_replies += 1

    def _wait_for_replies(self, deadline: float) -> None:
        """The SMS gateway works on its own threads: wait (bounded) until every confirmation SMS has been
        answered as the customer meant to and the reply handled."""
        if self.line is None:
            return
        waiting = lambda: [c for c, a in self._replies.items() if a is not None]  # noqa: E731
        while time.monotonic() < deadline:
            self._customers_reply()
            moved = all(self.services.orders.get(c).status != "awaiting_confirmation" for c in self._replied)
            if moved and not waiting():
                return
            time.sleep(0.05)  # the gateway's threads move the orders; bounded by the deadline

    def _collect(self) -> None:
        from cc.domain.timestamps import iso

        since = iso(self.clock.start)
        for row in self.acd.exits(limit=1_000_000):
            if row["at"] >= since and str(row["call_id"]).startswith(f"sim-{self.run_id}-"):
                self.summary.exits[row["reason"]] += 1
        for order in self.services.orders.list(limit=0):
            if order.created_at >= since and order.call_id and order.call_id.startswith(f"sim-{self.run_id}-"):
                self.summary.orders_by_status[order.status] += 1

    # -- for the tests and the dashboard ---------------------------------------------------------------
    def threads_alive(self) -> list[str]:
        names = [f.thread.name for f in list(self._fibers) if f.thread.is_alive()]
        if self._thread is not None and self._thread.is_alive():
            names.append(self._thread.name)
        return names
