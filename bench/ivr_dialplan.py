"""The IVR bench's Asterisk side: a pure-dialplan IVR (the baseline) and a load generator.

The same menu walk is done by ``[bench-ivr]`` below (Background + WaitExten, no AGI) and by cc over
FastAGI (bench/ivr.py points the hotline context at the cc server). Walk: answer, greeting/menu prompt,
caller keys 1, sub-menu prompt, caller keys 2, a number is read back, a goodbye prompt, hang up.

    from bench.ivr_dialplan import bench_asterisk, dialplan_ivr, load_callers
    with bench_asterisk(dialplan_ivr()) as ast:                    # provisions (cached), boots Asterisk
        result = load_callers(ast, 50, context="bench-ivr", exten="s")
        result.calls_per_second, result.p50, result.p95              # completions/s, per-call seconds

``load_callers`` starts N callers at once through AMI (each a ``Local/s@cc-test-caller`` that keys
``keys`` after ``wait`` seconds, then stays until the IVR hangs up) and waits for every caller's hang-up
event. A call counts as completed when the IVR hung up on the caller before the caller's own ``hold``
ran out (``ok_event``, when given, must also have been raised for that call, e.g. the IVR's last node).
Run alone: ``python bench/ivr_dialplan.py [CALLERS ...]`` prints one JSON line per run.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cc.telephony import asterisk_runtime as rt  # noqa: E402

# The caller's keys for the walk: "1" for the sub-menu, then "2" for the readout. W = 1 s pause.
WALK_KEYS = "1W2"
WALK_WAIT = 1.0  # seconds after the answer before the first key


def dialplan_ivr(prompt: str = "beep", readout: int = 42, digit_timeout: int = 5) -> str:
    """extensions.conf text: ``[bench-ivr]`` (the pure-dialplan IVR) plus the test caller contexts."""
    return rt.GENERAL + f"""
[bench-ivr]
exten => s,1,Answer()
 same => n,Set(TIMEOUT(digit)=3)
 same => n,Background({prompt})
 same => n,WaitExten({digit_timeout})
exten => 1,1,Background({prompt})
 same => n,WaitExten({digit_timeout})
exten => 2,1,SayNumber({readout})
 same => n,Playback({prompt})
 same => n,UserEvent(BenchIvrDone,Tag: ${{CC_CALL_TAG}})
 same => n,Hangup()
exten => i,1,Hangup()
exten => t,1,Hangup()
""" + rt.CALLER_CONTEXTS


@dataclass
class LoadResult:
    callers: int
    completed: int
    seconds: float  # wall time from the first originate to the last caller's hang-up
    per_call: list[float] = field(default_factory=list)  # seconds from originate to hang-up, completed calls

    @property
    def calls_per_second(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.per_call)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    def as_dict(self) -> dict:
        return {"callers": self.callers, "completed": self.completed, "seconds": round(self.seconds, 3),
                "calls_per_second": round(self.calls_per_second, 3), "per_call_p50": round(self.p50, 3),
                "per_call_p95": round(self.p95, 3), "per_call_max": round(max(self.per_call, default=0.0), 3)}


def load_callers(runtime: rt.AsteriskRuntime, callers: int, *, context: str, exten: str, keys: str = WALK_KEYS,
                 wait: float = WALK_WAIT, hold: float = 60.0, ok_event: str | None = "BenchIvrDone",
                 caller_id: str | None = None, timeout: float = 120.0) -> LoadResult:
    """Originate ``callers`` simultaneous callers into EXTEN@CONTEXT and wait for all of them to end."""
    mark = runtime.event_mark()
    started: dict[str, float] = {}
    t0 = time.monotonic()
    for _ in range(callers):
        tag = runtime.call(exten, context, keys=keys, wait=wait, hold=hold, caller_id=caller_id, timeout=timeout)
        started[tag] = time.monotonic()
    ended: dict[str, float] = {}
    ok: set[str] = set()
    deadline = t0 + timeout
    assert runtime.ami is not None
    index = mark
    while len(ended) < callers:
        try:
            found, event = runtime.ami.next_event(lambda e: e.get("Event") == "UserEvent",
                                                  timeout=max(0.0, deadline - time.monotonic()), start=index)
        except TimeoutError:
            break
        index = found + 1
        tag = event.get("Tag", "")
        if tag not in started:
            continue
        if event.get("UserEvent") == "CcCallerDone":
            ended[tag] = float(event["_received"])
        elif ok_event and event.get("UserEvent") == ok_event:
            ok.add(tag)
    last = max(ended.values(), default=time.monotonic())
    per_call = []
    for tag, end in ended.items():
        duration = end - started[tag]
        if duration < wait + hold - 0.5 and (ok_event is None or tag in ok):  # the IVR ended it, not the caller
            per_call.append(duration)
    return LoadResult(callers=callers, completed=len(per_call), seconds=last - t0, per_call=per_call)


@contextmanager
def bench_asterisk(extensions: str) -> Iterator[rt.AsteriskRuntime]:
    """A provisioned (cached) and booted Asterisk with ``extensions``; stopped on exit."""
    if not rt.is_provisioned():
        rt.provision()
    runtime = rt.AsteriskRuntime(extensions=extensions, verbose=0)
    runtime.start(timeout=60)
    try:
        yield runtime
    finally:
        runtime.stop()


def run_baseline(counts: tuple[int, ...] = (1, 50, 200)) -> list[dict]:
    """The pure-dialplan walk at each concurrency: one dict per run (see ``LoadResult.as_dict``)."""
    out = []
    with bench_asterisk(dialplan_ivr()) as ast:
        for n in counts:
            out.append({"ivr": "dialplan", **load_callers(ast, n, context="bench-ivr", exten="s").as_dict()})
            ast.wait_idle(timeout=30)
    return out


if __name__ == "__main__":
    counts = tuple(int(a) for a in sys.argv[1:]) or (1, 50, 200)
    for row in run_baseline(counts):
        print(json.dumps(row), flush=True)
