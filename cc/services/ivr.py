"""IVR tree use cases: read a YAML tree (errors name the node and line), validate it (prompt files
included), import it into the database (new calls use it at once), export it, show it, and simulate a
call on the keyboard or with scripted keys."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cc.domain import ivr
from cc.domain.timestamps import iso
from cc.errors import Refused, UsageError
from cc.yamlfile import YamlFileError, load_text, read_text

SOUND_EXTENSIONS = ("wav", "gsm", "sln", "ulaw", "alaw", "g722")
DEFAULT_TREE = Path(__file__).resolve().parent.parent / "data" / "ivr" / "default.yaml"
TREE_SHAPE = "a mapping with 'start', 'prompts' and 'nodes'"


class TreeChanged(Refused):
    """Another save came between opening a tree in the editor and saving it."""


class TreeInvalid(UsageError):
    def __init__(self, source: str, problems: list[ivr.Problem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}", f"run 'cc ivr validate {source}' to list every problem")


@dataclass
class LoadedTree:
    tree: ivr.Tree
    plain: dict[str, Any]
    yaml_text: str
    source: str


def parse_yaml(text: str, source: str = "<tree>") -> LoadedTree:
    """Parse and build a tree; raises ``TreeInvalid`` with every problem (node and line named)."""
    try:
        doc = load_text(text, source, shape=TREE_SHAPE)
    except YamlFileError as exc:  # not YAML, a node written twice, not a mapping
        raise TreeInvalid(source, [ivr.Problem(_node_at(text, exc.line) if exc.line else None, exc.problem, exc.line)]) from None
    lines = {path[1]: line for path, line in doc.lines.items() if len(path) == 2 and path[0] == "nodes"}
    try:
        tree = ivr.tree_from_dict(doc.data, lines)
    except ivr.TreeError as exc:
        raise TreeInvalid(source, exc.problems) from None
    return LoadedTree(tree, ivr.tree_to_dict(tree), text, source)


EDITOR_SOURCE = "cc ivr edit"


def tree_yaml(plain: dict[str, Any]) -> str:
    """A tree's plain form as YAML (what ``parse_yaml`` reads back to the same tree)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def flow_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:  # prompt lists on one line
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)

    Dumper.add_representer(list, flow_list)
    head = "# IVR tree written by cc (cc ivr edit). Check a copy with: cc ivr validate FILE\n"
    return head + yaml.dump(plain, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)


def blocking(problems: list[ivr.Problem], *, check_prompts: bool = False) -> list[ivr.Problem]:
    """The problems that stop a tree from being loaded (a missing sound file only with ``check_prompts``:
    'cc ivr prompts build' makes it)."""
    return [p for p in problems if "no sound file" not in p.message or check_prompts]


def _node_at(text: str, line: int) -> str | None:
    """The node whose block holds a line (for YAML syntax errors): the last 'id:' under 'nodes:' above it."""
    current = None
    in_nodes = False
    indent = None
    for number, raw in enumerate(text.splitlines(), 1):
        if number > line:
            break
        if re.match(r"^nodes\s*:", raw):
            in_nodes, indent = True, None
            continue
        if in_nodes and raw.strip() and not raw.startswith((" ", "\t", "#")):
            in_nodes = False
        match = re.match(r"^(\s+)([^\s#:][^:]*):", raw)
        if in_nodes and match:
            width = len(match.group(1))
            if indent is None:
                indent = width
            if width == indent:
                current = match.group(2).strip().strip("'\"")
    return current


def read_tree_file(path: str | Path) -> LoadedTree:
    return parse_yaml(read_text(path, "IVR tree file", "give the path of a YAML tree, e.g. data/ivr/default.yaml"), str(path))


def prompt_files(prompts_dir: Path) -> dict[str, Path]:
    """Prompt id -> sound file present in the folder."""
    found: dict[str, Path] = {}
    if prompts_dir.is_dir():
        for file in sorted(prompts_dir.iterdir()):
            if file.suffix.lstrip(".") in SOUND_EXTENSIONS and file.stem not in found:
                found[file.stem] = file
    return found


def validate(loaded: LoadedTree, prompts_dir: Path | None) -> list[ivr.Problem]:
    files = prompt_files(prompts_dir) if prompts_dir is not None else None
    return ivr.validate(loaded.tree, files)


class IvrService:
    def __init__(self, store: Any, clock: Any, prompts_dir: Path, default_tree: Path | None = None, actor: str = "") -> None:
        self.store = store
        self.clock = clock
        self.prompts_dir = prompts_dir
        self.default_tree = default_tree or DEFAULT_TREE
        self.actor = actor

    def import_tree(self, path: str | Path, *, check_prompts: bool = False) -> tuple[int, list[ivr.Problem]]:
        """Load a tree file into the database after validation; new calls use it at once."""
        loaded = read_tree_file(path)
        return self.import_loaded(loaded, check_prompts=check_prompts)

    def import_loaded(self, loaded: LoadedTree, *, check_prompts: bool = False) -> tuple[int, list[ivr.Problem]]:
        problems = validate(loaded, self.prompts_dir)
        found = blocking(problems, check_prompts=check_prompts)
        if found:
            raise TreeInvalid(loaded.source, found)
        tree_id = self.store.save_tree(
            loaded.tree.name,
            loaded.source,
            loaded.yaml_text,
            json.dumps(loaded.plain, ensure_ascii=False),
            iso(self.clock.now()),
            self.actor,
        )
        return tree_id, problems  # the remaining problems: missing prompt files (build them)

    def check_plain(self, plain: dict[str, Any], source: str = EDITOR_SOURCE) -> tuple[LoadedTree | None, list[ivr.Problem]]:
        """An edited tree (plain form) checked like ``cc ivr validate``: written as YAML, read back like a
        file, validated with this service's prompt files. (None, problems) when it does not even load."""
        try:
            loaded = parse_yaml(tree_yaml(plain), source)
        except TreeInvalid as exc:
            return None, exc.problems
        return loaded, validate(loaded, self.prompts_dir)

    def save_plain(self, plain: dict[str, Any], source: str = EDITOR_SOURCE, base_id: int | None = None) -> tuple[int, list[ivr.Problem]]:
        """Save an edited tree as a new version (new calls use it at once); refused with every problem when
        it does not pass validation, and with ``TreeChanged`` when ``base_id`` (the version the edit
        started from) is no longer the current one. Returns the new tree id and the remaining warnings
        (missing sound files)."""
        loaded, problems = self.check_plain(plain, source)
        if loaded is None:
            raise TreeInvalid(source, problems)
        if base_id is None:
            return self.import_loaded(loaded)
        with self.store.transaction():
            current = self.store.current_tree_id()
            if current != base_id:
                row = self.store.tree(current) or {}
                raise TreeChanged(
                    f"the tree was changed since version {base_id} was opened: version {current} from "
                    f"{row.get('source') or '?'} by {row.get('loaded_by') or 'someone'}",
                    "save again to put your version over it, or quit without saving and edit the new one",
                )
            return self.import_loaded(loaded)

    def ensure_tree(self) -> tuple[int, ivr.Tree]:
        """The current tree; the shipped default is imported when the database has none."""
        row = self.store.current_tree()
        if row is None:
            tree_id, _ = self.import_tree(self.default_tree)
            row = self.store.tree(tree_id)
        return int(row["id"]), ivr.tree_from_dict(json.loads(row["tree_json"]))

    def current(self) -> tuple[dict, ivr.Tree]:
        tree_id, tree = self.ensure_tree()
        row = self.store.tree(tree_id)
        return row, tree

    def export_yaml(self) -> str:
        row, _ = self.current()
        return row["yaml"]

    def missing_prompts(self, tree: ivr.Tree) -> list[str]:
        have = prompt_files(self.prompts_dir)
        return [pid for pid in tree.prompts if pid not in have]


# ----------------------------------------------------------------------------------------------------
# Showing and simulating


def describe(tree: ivr.Tree) -> list[str]:
    """The tree as indented text lines, from each entry point (a node already shown is referenced)."""
    out: list[str] = [f"{tree.name}  (start: {tree.start})"]
    shown: set[str] = set()

    def label(node: ivr.Node) -> str:
        text = tree.prompts.get(node.prompts[0], "") if node.prompts else ""
        extra = {
            "queue": f" queue={node.queue}",
            "readout": f" what={node.what}",
            "transfer": f" number={node.number}",
            "voicemail": f" max={node.max_seconds}s",
            "record_greeting": f" greeting={node.greeting}",
        }.get(node.kind, "")
        short = (text[:30] + "…") if len(text) > 30 else text
        return f"{node.id} [{node.kind}{extra}]" + (f" “{short}”" if short else "")

    def walk(nid: str, depth: int, how: str) -> None:
        node = tree.nodes.get(nid)
        pad = "  " * depth
        if node is None:
            out.append(f"{pad}{how}{nid} (missing!)")
            return
        if nid in shown:
            out.append(f"{pad}{how}-> {nid}")
            return
        shown.add(nid)
        out.append(f"{pad}{how}{label(node)}")
        for branch in node.branches:
            cond = f" ({branch.when})" if branch.when else ""
            walk(branch.target, depth + 1, f"{branch.key}{cond}: ")
        if node.next:
            walk(node.next, depth + 1, "then: ")
        if node.on_fail:
            walk(node.on_fail, depth + 1, "on fail: ")

    for name, nid in [("inbound", tree.start), *tree.entries.items()]:
        out.append(f"entry {name}:")
        walk(nid, 1, "")
    return out


class SimulatedChannel:
    """A ``Channel`` that prints what the caller would hear and takes keys from a script or a prompt."""

    def __init__(
        self,
        tree: ivr.Tree,
        caller_id: str,
        keys: Iterable[str] | None,
        say: Callable[[str], None],
        ask: Callable[[str], str] | None = None,
        prompts_dir: str = "",
    ) -> None:
        self.tree = tree
        self.env = {"agi_callerid": caller_id, "agi_uniqueid": "", "agi_channel": "Simulated/1", "agi_dnid": ""}
        self.keys: Iterator[str] | None = iter(keys) if keys is not None else None
        self.say = say
        self.ask = ask
        self.prompts_dir = prompts_dir.rstrip("/") + "/"

    def _next_key(self, what: str) -> str:
        if self.keys is not None:
            try:
                key = next(self.keys)
            except StopIteration:
                from cc.services.ports import CallerHungUp

                raise CallerHungUp("the scripted keys ran out (the caller hangs up)") from None
        else:
            assert self.ask is not None
            key = self.ask(what)
        key = key.strip()
        return "" if key.lower() in ("", "t", "timeout") else key

    def answer(self) -> None:
        self.say("(answer)")

    def play(self, file: str, keys: str = "") -> str:
        pid = file[len(self.prompts_dir):] if file.startswith(self.prompts_dir) else file
        text = self.tree.prompts.get(pid)
        self.say(f"♪ {text}" if text is not None else f"♪ [recording {file}]")
        return ""

    def say_number(self, number: int, keys: str = "") -> str:
        self.say(f"♪ <number {number}>")
        return ""

    def say_digits(self, digits: str, keys: str = "") -> str:
        self.say(f"♪ <digits {' '.join(digits)}>")
        return ""

    def wait_key(self, timeout: int) -> str:
        key = self._next_key(f"key (0-9 * #, empty = {timeout}s timeout)")
        self.say(f"[key {key}]" if key else "[no key: timeout]")
        return key[:1]

    def read_digits(self, timeout: int, max_digits: int) -> str:
        digits = self._next_key("digits then #")
        self.say(f"[digits {digits}]")
        return digits.rstrip("#")[:max_digits]

    def record(self, file: str, fmt: str, max_seconds: int, beep: bool) -> int:
        self.say(f"[beep: recording up to {max_seconds}s to {file}.{fmt}]")
        return 3000

    def transfer(self, number: str) -> str:
        self.say(f"[transfer to {number}]")
        return "ANSWER"

    def set_variable(self, name: str, value: str) -> None:
        pass

    def hangup(self) -> None:
        self.say("(hang up)")


# ----------------------------------------------------------------------------------------------------
# Simulating key by key (the editor's simulate pane): the same runtime and channel as `cc ivr simulate`,
# run again from the start with the keys pressed so far; running out of keys means "waiting".


@dataclass
class Simulation:
    keys: list[str]
    lines: list[str]  # what the caller heard and did, in order
    path: list[str]  # nodes entered
    result: str | None  # None: the caller waits for input at ``path[-1]``
    reason: str
    waiting_for: str = ""  # key | digits (digits then #) while waiting


class _SteppedChannel(SimulatedChannel):
    """Keys from a list; when they run out the caller is waiting (noted) and the run stops there."""

    ran_out = False
    waiting_for = ""

    def _next_key(self, what: str) -> str:
        from cc.services.ports import CallerHungUp

        try:
            return super()._next_key(what)
        except CallerHungUp:
            self.ran_out = True
            raise

    def wait_key(self, timeout: int) -> str:
        self.waiting_for = "key"
        return super().wait_key(timeout)

    def read_digits(self, timeout: int, max_digits: int) -> str:
        self.waiting_for = "digits"
        return super().read_digits(timeout, max_digits)

    def record(self, file: str, fmt: str, max_seconds: int, beep: bool) -> int:
        self.say(f"[beep: recording up to {max_seconds}s]")
        return 3000


def simulate_keys(run: Callable[[SimulatedChannel], Any], tree: ivr.Tree, keys: list[str], *, caller_id: str,
                  call_id: str, prompts_base: str = "") -> Simulation:
    """Walk ``tree`` with ``keys`` (each a key, 't' for a timeout, or digits then '#') through ``run``
    (an ``IvrRuntime.run`` against a scratch store); the result says what was heard and where the
    caller is."""
    lines: list[str] = []
    channel = _SteppedChannel(tree, caller_id, list(keys), lines.append, None, prompts_base)
    channel.env["agi_uniqueid"] = call_id
    outcome = run(channel)
    if channel.ran_out:
        return Simulation(list(keys), lines, list(outcome.path), None, "", channel.waiting_for)
    return Simulation(list(keys), lines, list(outcome.path), outcome.result, outcome.reason)
