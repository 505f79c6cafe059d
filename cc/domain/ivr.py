"""The IVR menu tree: model, validation and the step function. Pure: no I/O, no clock, stdlib only.

A tree is a set of named nodes plus a table of prompts (prompt id -> text). A call walks the tree through
``start()`` and then ``step()``: each returns the new ``CallState``, the ``actions`` the channel must carry
out (play a prompt, say a number, wait for a key, record, transfer, hang up...) and, when the call is
over, an ``End`` with the result and the termination reason. When the actions end with an input action
(``WaitKey``, ``Record``, ``ReadDigits``) or a ``Play`` with escape keys is interrupted, the runtime feeds
the outcome back as an event (``Key``, ``Recorded``, ``Digits``).

Node kinds:

- ``announcement``: play ``prompts``, go to ``next`` (or hang up when there is none).
- ``menu``: play ``prompts`` (+ ``known_prompts`` for a known caller), wait ``timeout`` seconds for a key;
  up to 10 ``branches`` on 0-9, ``*``, ``#`` (a branch may carry ``when: known``); ``*`` goes back to the
  parent menu and ``#`` repeats unless a branch takes them; ``timeout_prompt`` / ``invalid_prompt`` and
  ``retries``, then ``on_fail`` (or a polite hang-up).
- ``queue``: record a request for ``queue`` (the ACD takes it later), play ``prompts``, go to ``next``.
- ``readout``: ``what: balance | orders`` for the caller's number (SAY NUMBER / SAY DIGITS).
- ``voicemail``: ``prompts``, record with beep up to ``max_seconds``, store it, ``done_prompt``.
- ``record_greeting`` (staff): record, play back, 1 keep / 2 re-record, stored as prompt ``greeting``.
- ``voice_relay``: record a message, key the target number, stored for later outbound delivery.
- ``transfer``: dial an external ``number``.
- ``hangup``: play ``prompts`` and hang up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from cc.domain.records import factory, record, replace

KEYS = "0123456789*#"
MAX_BRANCHES = 10
KINDS = (
    "announcement",
    "menu",
    "queue",
    "readout",
    "voicemail",
    "record_greeting",
    "voice_relay",
    "transfer",
    "hangup",
)
INPUT_KINDS = frozenset({"menu", "voicemail", "record_greeting", "voice_relay"})
READOUTS = ("balance", "orders")
CONDITIONS = ("known", "unknown", "vip")
ACTIVE_ORDER_STATUSES = ("awaiting_confirmation", "confirmed", "charged", "sent_to_dairy", "in_delivery")
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")

# Which YAML keys each node kind takes (besides ``kind``); anything else is an error naming the node.
_COMMON = {"prompts", "label"}
KIND_KEYS: dict[str, set[str]] = {
    "announcement": _COMMON | {"next"},
    "menu": _COMMON
    | {"known_prompts", "branches", "timeout_prompt", "invalid_prompt", "fail_prompt", "retries", "timeout", "on_fail"},
    "queue": _COMMON | {"queue", "next"},
    "readout": _COMMON
    | {
        "what",
        "next",
        "unknown_prompt",
        "yuan_prompt",
        "fen_prompt",
        "order_prompt",
        "remaining_prompt",
        "no_orders_prompt",
        "status_prompts",
    },
    "voicemail": _COMMON | {"max_seconds", "beep", "done_prompt", "next"},
    "record_greeting": _COMMON
    | {"max_seconds", "beep", "greeting", "confirm_prompt", "done_prompt", "retries", "timeout", "next"},
    "voice_relay": _COMMON
    | {"max_seconds", "beep", "target_prompt", "invalid_prompt", "done_prompt", "retries", "timeout", "next"},
    "transfer": _COMMON | {"number"},
    "hangup": _COMMON,
}
# Node fields that name prompts (single prompt id).
_PROMPT_FIELDS = (
    "timeout_prompt",
    "invalid_prompt",
    "fail_prompt",
    "unknown_prompt",
    "yuan_prompt",
    "fen_prompt",
    "order_prompt",
    "remaining_prompt",
    "no_orders_prompt",
    "done_prompt",
    "confirm_prompt",
    "target_prompt",
)


class TreeError(ValueError):
    """A tree that cannot be used; ``problems`` lists every finding, each naming its node."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@record
class Problem:
    node: str | None  # None: the tree as a whole
    message: str
    line: int | None = None
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f"node '{self.node}'" if self.node else "tree"
        if self.line:
            where += f" (line {self.line})"
        return f"{where}: {self.message}"


@record
class Branch:
    key: str
    target: str
    when: str | None = None  # None | known | unknown | vip


@record
class Node:
    id: str
    kind: str
    line: int | None = None
    label: str = ""
    prompts: tuple[str, ...] = ()
    known_prompts: tuple[str, ...] = ()
    next: str | None = None
    branches: tuple[Branch, ...] = ()
    timeout_prompt: str | None = None
    invalid_prompt: str | None = None
    fail_prompt: str | None = None
    retries: int = 3
    timeout: int = 5  # seconds to wait for a key
    on_fail: str | None = None
    queue: str | None = None
    what: str | None = None  # readout: balance | orders
    unknown_prompt: str | None = None
    yuan_prompt: str | None = None
    fen_prompt: str | None = None
    order_prompt: str | None = None
    remaining_prompt: str | None = None
    no_orders_prompt: str | None = None
    status_prompts: tuple[tuple[str, str], ...] = ()
    max_seconds: int = 60
    beep: bool = True
    done_prompt: str | None = None
    greeting: str | None = None  # record_greeting: the prompt id the recording replaces
    confirm_prompt: str | None = None
    target_prompt: str | None = None
    number: str | None = None  # transfer

    def targets(self) -> list[str]:
        found = [b.target for b in self.branches]
        for name in ("next", "on_fail"):
            value = getattr(self, name)
            if value:
                found.append(value)
        return found

    def prompt_ids(self) -> list[str]:
        ids = list(self.prompts) + list(self.known_prompts)
        ids += [getattr(self, f) for f in _PROMPT_FIELDS if getattr(self, f)]
        ids += [p for _, p in self.status_prompts]
        return ids


@record
class Tree:
    name: str
    start: str
    nodes: Mapping[str, Node]
    prompts: Mapping[str, str]  # prompt id -> text (what TTS speaks when no recording exists)
    entries: Mapping[str, str] = factory(dict)  # AGI script name -> node (besides inbound)
    blacklist_prompt: str | None = None
    goodbye_prompt: str | None = None
    language: str = "zh"

    def entry(self, script: str) -> str | None:
        if script in ("", "inbound"):
            return self.start
        return self.entries.get(script)

    def entry_points(self) -> list[str]:
        return [self.start, *self.entries.values()]

    def global_prompt_ids(self) -> list[str]:
        return [p for p in (self.blacklist_prompt, self.goodbye_prompt) if p]


# ----------------------------------------------------------------------------------------------------
# Building a tree from plain data (the YAML/JSON form)


def tree_from_dict(data: Any, lines: Mapping[str, int] | None = None) -> Tree:
    """Build a tree from its plain form, raising ``TreeError`` listing every problem found."""
    lines = lines or {}
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise TreeError([Problem(None, "the file must be a mapping with 'start', 'prompts' and 'nodes'")])
    known_top = {"name", "start", "prompts", "nodes", "entries", "blacklist_prompt", "goodbye_prompt", "language"}
    for key in data:
        if key not in known_top:
            problems.append(Problem(None, f"unknown key '{key}' (known: {', '.join(sorted(known_top))})"))
    prompts_raw = data.get("prompts") or {}
    prompts: dict[str, str] = {}
    if not isinstance(prompts_raw, Mapping):
        problems.append(Problem(None, "'prompts' must map prompt ids to their text"))
    else:
        for pid, text in prompts_raw.items():
            pid = str(pid)
            if not _ID.match(pid):
                problems.append(Problem(None, f"prompt id '{pid}' may use only letters, digits, _ . -"))
            elif not isinstance(text, str) or not text.strip():
                problems.append(Problem(None, f"prompt '{pid}' needs its text"))
            else:
                prompts[pid] = text.strip()
    nodes_raw = data.get("nodes")
    nodes: dict[str, Node] = {}
    if not isinstance(nodes_raw, Mapping) or not nodes_raw:
        problems.append(Problem(None, "'nodes' must map node ids to nodes (at least one)"))
    else:
        for nid, spec in nodes_raw.items():
            nid = str(nid)
            node, found = _node_from_dict(nid, spec, lines.get(nid))
            problems += found
            if node is not None:
                nodes[nid] = node
    start = data.get("start")
    if not isinstance(start, str) or not start:
        problems.append(Problem(None, "'start' must name the first node"))
        start = ""
    entries = data.get("entries") or {}
    if not isinstance(entries, Mapping) or not all(isinstance(v, str) for v in entries.values()):
        problems.append(Problem(None, "'entries' must map AGI script names to node ids"))
        entries = {}
    name = str(data.get("name") or "ivr")
    if problems:
        raise TreeError(problems)
    return Tree(
        name=name,
        start=start,
        nodes=nodes,
        prompts=prompts,
        entries={str(k): v for k, v in entries.items()},
        blacklist_prompt=data.get("blacklist_prompt"),
        goodbye_prompt=data.get("goodbye_prompt"),
        language=str(data.get("language") or "zh"),
    )


def _node_from_dict(nid: str, spec: Any, line: int | None) -> tuple[Node | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(message: str) -> None:
        problems.append(Problem(nid, message, line))

    if not _ID.match(nid):
        bad("a node id may use only letters, digits, _ . - (at most 64)")
    if not isinstance(spec, Mapping):
        bad("must be a mapping with at least 'kind'")
        return None, problems
    kind = spec.get("kind")
    if kind not in KINDS:
        bad(f"unknown kind {kind!r} (one of: {', '.join(KINDS)})")
        return None, problems
    allowed = KIND_KEYS[kind]
    for key in spec:
        if key != "kind" and key not in allowed:
            bad(f"key '{key}' is not used by a {kind} node (it takes: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = {}

    def text_list(key: str) -> tuple[str, ...]:
        value = spec.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        bad(f"'{key}' must be a prompt id or a list of prompt ids")
        return ()

    def integer(key: str, low: int, high: int) -> None:
        if key in spec:
            value = spec[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                bad(f"'{key}' must be a whole number from {low} to {high}")
            else:
                values[key] = value

    values["prompts"] = text_list("prompts")
    values["known_prompts"] = text_list("known_prompts")
    for key in ("next", "on_fail", "queue", "what", "greeting", "label", *_PROMPT_FIELDS):
        if key in spec and spec[key] is not None:
            if not isinstance(spec[key], (str, int)) or isinstance(spec[key], bool):
                bad(f"'{key}' must be a single name")
            else:
                values[key] = str(spec[key])
    if "number" in spec:
        number = str(spec["number"]).strip()
        if not re.fullmatch(r"\+?[0-9]{2,20}", number):
            bad(f"'number' must be a phone number (digits, optional +), not {spec['number']!r}")
        values["number"] = number
    integer("retries", 0, 10)
    integer("timeout", 1, 60)
    integer("max_seconds", 1, 600)
    if "beep" in spec:
        if not isinstance(spec["beep"], bool):
            bad("'beep' must be true or false")
        else:
            values["beep"] = spec["beep"]
    if "status_prompts" in spec:
        sp = spec["status_prompts"]
        if not isinstance(sp, Mapping) or not all(isinstance(v, str) for v in sp.values()):
            bad("'status_prompts' must map order statuses to prompt ids")
        else:
            values["status_prompts"] = tuple((str(k), v) for k, v in sp.items())
    if kind == "menu":
        raw = spec.get("branches") or {}
        branches: list[Branch] = []
        if not isinstance(raw, Mapping):
            bad("'branches' must map keys (0-9, *, #) to node ids")
        else:
            if len(raw) > MAX_BRANCHES:
                bad(f"has {len(raw)} branches; a menu takes at most {MAX_BRANCHES}")
            for key, target in raw.items():
                key = str(key)
                if len(key) != 1 or key not in KEYS:
                    bad(f"branch key {key!r} is not a phone key (0-9, *, #; quote * and # in YAML)")
                    continue
                when = None
                if isinstance(target, Mapping):
                    when = target.get("when")
                    if when is not None and when not in CONDITIONS:
                        bad(f"branch {key}: 'when' must be one of {', '.join(CONDITIONS)}")
                    target = target.get("to")
                if not isinstance(target, str) or not target:
                    bad(f"branch {key} needs a target node id")
                    continue
                branches.append(Branch(key, target, when))
        values["branches"] = tuple(branches)
        if not branches:
            bad("a menu needs at least one branch")
    if kind == "readout" and values.get("what") not in READOUTS:
        bad(f"'what' must be one of {', '.join(READOUTS)}")
    if kind == "queue" and not values.get("queue"):
        bad("a queue node needs 'queue' (the service queue's name)")
    if kind == "transfer" and not values.get("number"):
        bad("a transfer node needs 'number'")
    if kind == "record_greeting" and not values.get("greeting"):
        bad("a record_greeting node needs 'greeting' (the prompt id the recording replaces)")
    if kind == "voice_relay" and not values.get("target_prompt"):
        bad("a voice_relay node needs 'target_prompt' (asks for the number to deliver to)")
    if problems:
        return None, problems
    return Node(id=nid, kind=kind, line=line, **values), problems


def tree_to_dict(tree: Tree) -> dict[str, Any]:
    """The plain form of a tree (what ``tree_from_dict`` reads back to an equal tree)."""
    defaults = Node(id="", kind="hangup")
    nodes: dict[str, Any] = {}
    for node in tree.nodes.values():
        out: dict[str, Any] = {"kind": node.kind}
        for key in sorted(KIND_KEYS[node.kind]):
            value = getattr(node, key)
            if value == getattr(defaults, key):
                continue
            if key in ("prompts", "known_prompts"):
                value = list(value)
            elif key == "branches":
                value = {b.key: (b.target if b.when is None else {"to": b.target, "when": b.when}) for b in value}
            elif key == "status_prompts":
                value = dict(value)
            out[key] = value
        nodes[node.id] = out
    data: dict[str, Any] = {"name": tree.name, "language": tree.language, "start": tree.start}
    if tree.entries:
        data["entries"] = dict(tree.entries)
    if tree.blacklist_prompt:
        data["blacklist_prompt"] = tree.blacklist_prompt
    if tree.goodbye_prompt:
        data["goodbye_prompt"] = tree.goodbye_prompt
    data["prompts"] = dict(tree.prompts)
    data["nodes"] = nodes
    return data


# ----------------------------------------------------------------------------------------------------
# Validation


def validate(tree: Tree, prompt_files: Iterable[str] | None = None) -> list[Problem]:
    """Every problem of a built tree, each naming its node. ``prompt_files``: the prompt ids that have a
    sound file (None: do not check files). Missing files are errors: the caller would hear silence."""
    problems: list[Problem] = []
    nodes = tree.nodes
    for entry in tree.entry_points():
        if entry not in nodes:
            problems.append(Problem(None, f"entry node '{entry}' does not exist"))
    for node in nodes.values():
        for target in node.targets():
            if target not in nodes:
                problems.append(Problem(node.id, f"points to '{target}', which is not a node", node.line))
        for pid in node.prompt_ids():
            if pid not in tree.prompts:
                problems.append(Problem(node.id, f"uses prompt '{pid}', which is not in 'prompts'", node.line))
        if node.kind == "menu":
            keys = [b.key for b in node.branches]
            for key in set(keys):
                if keys.count(key) > 1 and not _conditional_pair(node, key):
                    problems.append(Problem(node.id, f"key {key} is used by more than one branch", node.line))
    for pid in tree.global_prompt_ids():
        if pid not in tree.prompts:
            problems.append(Problem(None, f"uses prompt '{pid}', which is not in 'prompts'"))
    # Reachability from every entry point.
    seen: set[str] = set()
    todo = [e for e in tree.entry_points() if e in nodes]
    while todo:
        nid = todo.pop()
        if nid in seen:
            continue
        seen.add(nid)
        todo += [t for t in nodes[nid].targets() if t in nodes]
    for node in nodes.values():
        if node.id not in seen:
            problems.append(Problem(node.id, "is unreachable: no entry or branch leads to it", node.line))
    # A loop through nodes that take no input would play forever.
    problems += _silent_loops(tree)
    if prompt_files is not None:
        have = set(prompt_files)
        for node in nodes.values():
            missing = [p for p in dict.fromkeys(node.prompt_ids()) if p in tree.prompts and p not in have]
            for pid in missing:
                problems.append(Problem(node.id, f"prompt '{pid}' has no sound file", node.line))
        for pid in tree.global_prompt_ids():
            if pid in tree.prompts and pid not in have:
                problems.append(Problem(None, f"prompt '{pid}' has no sound file"))
    return problems


def _conditional_pair(node: Node, key: str) -> bool:
    """Two branches on one key are fine when their conditions exclude each other (known / unknown)."""
    whens = sorted(str(b.when) for b in node.branches if b.key == key)
    return whens == ["known", "unknown"]


def _silent_loops(tree: Tree) -> list[Problem]:
    nodes = tree.nodes
    silent = {nid: n for nid, n in nodes.items() if n.kind not in INPUT_KINDS}
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    reported: set[frozenset[str]] = set()

    def visit(nid: str, trail: list[str]) -> None:
        state[nid] = 1
        trail.append(nid)
        for target in silent[nid].targets():
            if target not in silent:
                continue
            if state.get(target) == 1:
                cycle = trail[trail.index(target):]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    first = nodes[cycle[0]]
                    problems.append(
                        Problem(
                            first.id,
                            "loops without waiting for input: " + " -> ".join([*cycle, cycle[0]]),
                            first.line,
                        )
                    )
            elif target not in state:
                visit(target, trail)
        trail.pop()
        state[nid] = 2

    for nid in silent:
        if nid not in state:
            visit(nid, [])
    return problems


def check(tree: Tree, prompt_files: Iterable[str] | None = None) -> list[Problem]:
    """Validate and raise ``TreeError`` on any error; returns the warnings."""
    problems = validate(tree, prompt_files)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise TreeError(errors)
    return problems


# ----------------------------------------------------------------------------------------------------
# The caller, events, actions


@record
class OrderInfo:
    code: str
    status: str
    deliveries: int = 0
    deliveries_done: int = 0


@record
class Caller:
    number: str = ""  # E.164 when it could be normalised, else what the network gave
    known: bool = False
    customer_id: int | None = None
    name: str = ""
    vip: bool = False
    blacklisted: bool = False
    balance_fen: int = 0
    orders: tuple[OrderInfo, ...] = ()


class Key(NamedTuple):
    key: str  # '' = no key before the timeout


class Recorded(NamedTuple):
    file: str  # path without extension as the channel recorded it; '' when nothing was recorded
    duration_ms: int = 0


class Digits(NamedTuple):
    digits: str


Event = Key | Recorded | Digits


class Play(NamedTuple):
    prompt: str
    keys: str = ""  # DTMF keys that interrupt the prompt


class PlayFile(NamedTuple):
    file: str  # a recording made on this call
    keys: str = ""


class SayNumber(NamedTuple):
    number: int
    keys: str = ""


class SayDigits(NamedTuple):
    digits: str
    keys: str = ""


class WaitKey(NamedTuple):
    timeout: int  # seconds
    keys: str = KEYS


class Record(NamedTuple):
    kind: str  # voicemail | greeting | relay
    max_seconds: int
    beep: bool = True


class ReadDigits(NamedTuple):
    timeout: int
    max_digits: int = 20


class QueueRequest(NamedTuple):
    queue: str
    priority: int = 0


class Store(NamedTuple):
    """Keep a recording: voicemail (file + row), greeting (becomes prompt ``target``), relay (to ``target``)."""

    kind: str
    file: str
    duration_ms: int = 0
    target: str = ""
    node: str = ""  # the node that recorded it


class Transfer(NamedTuple):
    number: str


class Hangup(NamedTuple):
    pass


Action = Play | PlayFile | SayNumber | SayDigits | WaitKey | Record | ReadDigits | QueueRequest | Store | Transfer | Hangup
INPUT_ACTIONS = (WaitKey, Record, ReadDigits)


class End(NamedTuple):
    """How the IVR ended. An ``error`` end carries no ``Hangup``: the channel goes back to the dialplan,
    whose fallback (apology, then the operator) takes the caller."""

    result: str  # completed | queued | transferred | voicemail | relayed | greeting | refused | no_input | abandoned | error
    reason: str


@record
class CallState:
    node: str
    phase: str = ""
    retries: int = 0
    stack: tuple[str, ...] = ()  # parent menus, for * back
    path: tuple[str, ...] = ()  # every node entered, in order
    recording: Recorded | None = None
    digits: str = ""


class Step(NamedTuple):
    state: CallState
    actions: tuple[Action, ...]
    end: End | None = None

    @property
    def waits(self) -> bool:
        return self.end is None


class StepError(RuntimeError):
    """The tree led somewhere it cannot go (a dangling target, a loop without input)."""


MAX_CHAIN = 64


# ----------------------------------------------------------------------------------------------------
# The step function


def start(tree: Tree, caller: Caller, entry: str = "inbound") -> Step:
    """The first step of a call: the blacklist check, then the entry node."""
    if caller.blacklisted:
        actions: list[Action] = []
        if tree.blacklist_prompt:
            actions.append(Play(tree.blacklist_prompt))
        actions.append(Hangup())
        return Step(CallState(node=""), tuple(actions), End("refused", "blacklisted caller"))
    first = tree.entry(entry)
    if first is None or first not in tree.nodes:
        return Step(CallState(node=""), (), End("error", f"no IVR entry '{entry}'"))
    return _enter(tree, caller, CallState(node=first), first, [], 0)


def step(tree: Tree, caller: Caller, state: CallState, event: Event) -> Step:
    """The next step after the channel reported ``event`` for the node ``state.node``."""
    node = tree.nodes.get(state.node)
    if node is None:
        return Step(state, (), End("error", f"node '{state.node}' no longer exists"))
    kind = node.kind
    if kind == "menu":
        return _menu_event(tree, caller, state, node, event)
    if kind == "voicemail":
        return _voicemail_event(tree, caller, state, node, event)
    if kind == "record_greeting":
        return _greeting_event(tree, caller, state, node, event)
    if kind == "voice_relay":
        return _relay_event(tree, caller, state, node, event)
    return Step(state, (), End("error", f"node '{node.id}' ({kind}) does not take input"))


def _enter(tree: Tree, caller: Caller, state: CallState, nid: str, actions: list[Action], depth: int) -> Step:
    """Enter node ``nid``, running through nodes that take no input until one waits or the call ends."""
    if depth > MAX_CHAIN:
        return Step(state, tuple(actions), End("error", f"loop without input at node '{nid}'"))
    node = tree.nodes.get(nid)
    if node is None:
        return Step(state, tuple(actions), End("error", f"dangling target '{nid}'"))
    state = replace(state, node=nid, phase="", retries=0, path=(*state.path, nid), recording=None, digits="")
    kind = node.kind
    if kind == "menu":
        if nid in state.stack:  # back at a menu already on the way: the chain of parents ends before it
            state = replace(state, stack=state.stack[: state.stack.index(nid)])
        return Step(state, (*actions, *_menu_prompts(node, caller)))
    actions = [*actions, *(Play(p) for p in node.prompts)]
    if kind == "announcement":
        return _next(tree, caller, state, node, actions, depth, End("completed", f"announcement '{nid}' ended the call"))
    if kind == "queue":
        actions.insert(0, QueueRequest(node.queue or "", 1 if caller.vip else 0))
        return _next(tree, caller, state, node, actions, depth, End("queued", f"queued for '{node.queue}'"))
    if kind == "readout":
        actions += _readout(node, caller)
        return _next(tree, caller, state, node, actions, depth, End("completed", f"readout '{nid}' ended the call"))
    if kind in ("voicemail", "record_greeting", "voice_relay"):
        kind_name = {"voicemail": "voicemail", "record_greeting": "greeting", "voice_relay": "relay"}[kind]
        actions.append(Record(kind_name, node.max_seconds, node.beep))
        return Step(replace(state, phase="record"), tuple(actions))
    if kind == "transfer":
        actions.append(Transfer(node.number or ""))
        return Step(state, tuple(actions), End("transferred", f"transferred to {node.number}"))
    actions.append(Hangup())
    return Step(state, tuple(actions), End("completed", f"hangup node '{nid}'"))


def _next(tree: Tree, caller: Caller, state: CallState, node: Node, actions: list[Action], depth: int, end: End) -> Step:
    if node.next:
        return _enter(tree, caller, state, node.next, actions, depth + 1)
    return Step(state, (*actions, Hangup()), end)


def _menu_keys(node: Node, caller: Caller) -> str:
    keys = {b.key for b in node.branches if _allowed(b, caller)} | {"*", "#"}
    return "".join(k for k in KEYS if k in keys)


def _menu_prompts(node: Node, caller: Caller) -> tuple[Action, ...]:
    keys = _menu_keys(node, caller)
    prompts = list(node.prompts) + (list(node.known_prompts) if caller.known else [])
    return (*(Play(p, keys) for p in prompts), WaitKey(node.timeout, keys))


def _allowed(branch: Branch, caller: Caller) -> bool:
    if branch.when is None:
        return True
    if branch.when == "known":
        return caller.known
    if branch.when == "unknown":
        return not caller.known
    return caller.vip


def _menu_event(tree: Tree, caller: Caller, state: CallState, node: Node, event: Event) -> Step:
    if not isinstance(event, Key):
        return Step(state, (), End("error", f"menu '{node.id}' got {type(event).__name__}"))
    key = event.key
    for branch in node.branches:
        if branch.key == key and _allowed(branch, caller):
            pushed = replace(state, stack=(*state.stack, node.id))
            return _enter(tree, caller, pushed, branch.target, [], 0)
    if key == "*" and state.stack:
        parent = state.stack[-1]
        return _enter(tree, caller, replace(state, stack=state.stack[:-1]), parent, [], 0)
    if key in ("#", "*"):  # repeat (also * at the top menu)
        return Step(state, _menu_prompts(node, caller))
    retries = state.retries + 1
    prompt = node.timeout_prompt if key == "" else node.invalid_prompt
    why = "no key pressed" if key == "" else f"invalid key {key}"
    if retries > node.retries:
        actions: list[Action] = [Play(prompt)] if prompt else []
        if node.fail_prompt:
            actions.append(Play(node.fail_prompt))
        if node.on_fail:
            return _enter(tree, caller, state, node.on_fail, actions, 0)
        if tree.goodbye_prompt:
            actions.append(Play(tree.goodbye_prompt))
        actions.append(Hangup())
        return Step(replace(state, retries=retries), tuple(actions), End("no_input", f"menu '{node.id}': {why}, retries used up"))
    actions = [Play(prompt)] if prompt else []
    return Step(replace(state, retries=retries), (*actions, *_menu_prompts(node, caller)))


def _readout(node: Node, caller: Caller) -> list[Action]:
    if not caller.known:
        return [Play(node.unknown_prompt)] if node.unknown_prompt else []
    out: list[Action] = []
    if node.what == "balance":
        yuan, fen = divmod(max(caller.balance_fen, 0), 100)
        out.append(SayNumber(yuan))
        if node.yuan_prompt:
            out.append(Play(node.yuan_prompt))
        if fen:
            out.append(SayNumber(fen))
            if node.fen_prompt:
                out.append(Play(node.fen_prompt))
        return out
    active = [o for o in caller.orders if o.status in ACTIVE_ORDER_STATUSES][:3]
    if not active:
        return [Play(node.no_orders_prompt)] if node.no_orders_prompt else []
    statuses = dict(node.status_prompts)
    for order in active:
        if node.order_prompt:
            out.append(Play(node.order_prompt))
        out.append(SayDigits(order.code))
        status_prompt = statuses.get(order.status) or statuses.get("other")
        if status_prompt:
            out.append(Play(status_prompt))
        if node.remaining_prompt and order.deliveries:
            out.append(Play(node.remaining_prompt))
            out.append(SayNumber(max(order.deliveries - order.deliveries_done, 0)))
    return out


def _after_record(tree: Tree, caller: Caller, state: CallState, node: Node, actions: list[Action], end: End) -> Step:
    if node.done_prompt:
        actions.append(Play(node.done_prompt))
    return _next(tree, caller, state, node, actions, 0, end)


def _nothing_recorded(state: CallState, node: Node) -> Step:
    return Step(state, (Hangup(),), End("abandoned", f"{node.kind} '{node.id}': nothing recorded"))


def _voicemail_event(tree: Tree, caller: Caller, state: CallState, node: Node, event: Event) -> Step:
    if not isinstance(event, Recorded) or not event.file:
        return _nothing_recorded(state, node)
    store = Store("voicemail", event.file, event.duration_ms, node=node.id)
    return _after_record(tree, caller, state, node, [store], End("voicemail", f"voicemail left at '{node.id}'"))


def _greeting_event(tree: Tree, caller: Caller, state: CallState, node: Node, event: Event) -> Step:
    if state.phase == "record":
        if not isinstance(event, Recorded) or not event.file:
            return _nothing_recorded(state, node)
        actions: list[Action] = [PlayFile(event.file)]
        if node.confirm_prompt:
            actions.append(Play(node.confirm_prompt, "12"))
        actions.append(WaitKey(node.timeout, "12"))
        return Step(replace(state, phase="confirm", recording=event), tuple(actions))
    key = event.key if isinstance(event, Key) else ""
    rec = state.recording or Recorded("")
    if key == "1":
        store = Store("greeting", rec.file, rec.duration_ms, node.greeting or "", node=node.id)
        return _after_record(tree, caller, state, node, [store], End("greeting", f"greeting '{node.greeting}' recorded"))
    if key == "2":
        return Step(replace(state, phase="record", recording=None), (Record("greeting", node.max_seconds, node.beep),))
    retries = state.retries + 1
    if retries > node.retries:
        return Step(state, (Hangup(),), End("abandoned", f"greeting '{node.greeting}' not confirmed"))
    actions = [Play(node.confirm_prompt, "12")] if node.confirm_prompt else []
    return Step(replace(state, retries=retries), (*actions, WaitKey(node.timeout, "12")))


_TARGET = re.compile(r"^[0-9]{5,20}$")


def _relay_event(tree: Tree, caller: Caller, state: CallState, node: Node, event: Event) -> Step:
    if state.phase == "record":
        if not isinstance(event, Recorded) or not event.file:
            return _nothing_recorded(state, node)
        actions = (Play(node.target_prompt or ""), ReadDigits(node.timeout))
        return Step(replace(state, phase="target", recording=event), actions)
    digits = event.digits if isinstance(event, Digits) else ""
    rec = state.recording or Recorded("")
    if _TARGET.match(digits):
        actions: list[Action] = [Store("relay", rec.file, rec.duration_ms, digits, node=node.id)]
        if node.done_prompt:
            actions.append(Play(node.done_prompt))
        actions.append(SayDigits(digits))
        return _next(tree, caller, state, node, actions, 0, End("relayed", f"voice relay to {digits} stored"))
    retries = state.retries + 1
    if retries > node.retries:
        return Step(state, (Hangup(),), End("abandoned", f"voice relay '{node.id}': no valid target number"))
    actions = [Play(node.invalid_prompt)] if node.invalid_prompt else []
    return Step(replace(state, retries=retries), (*actions, Play(node.target_prompt or ""), ReadDigits(node.timeout)))
