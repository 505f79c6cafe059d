"""``cc ivr edit``: the IVR menu-tree editor. The tree on the left (node kind, label, key), on the right
the selected node's form, its prompt texts (with "rebuild the spoken prompt") and a simulate pane that
walks the edited tree key by key.

Edits are made on a ``cc.domain.ivr_edit.Draft`` (pure, with undo). Checking, saving (a new tree version:
new calls use it at once), exporting, simulating and building prompts run on the backend thread, which
owns the database connection; workers post messages and only handlers touch widgets. Checking uses the
same code as ``cc ivr validate`` (``IvrService.check_plain``); a tree with problems is not saved.

Built by ``make_ivr_editor_app(config, ...)`` so the command and the tests build the same app.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Select, Static, TabbedContent, TabPane, Tree

from cc.clock import Clock, SystemClock
from cc.domain import ivr
from cc.domain.ivr_edit import TOP_FIELDS, Draft, EditError, Row, key_of
from cc.errors import CcError
from cc.i18n import t
from cc.tui.common import Localized, localize_bindings

CSS_PATH = Path(__file__).with_name("ivr_editor.tcss")
T = TypeVar("T")
LIST_FIELDS = ("prompts", "known_prompts")
INT_FIELDS = ("retries", "timeout", "max_seconds")
SIM_CALLER = "13800138000"
_NODE_DEFAULTS = ivr.Node(id="", kind="hangup")


# -- the backend: one thread owns the database connection ----------------------------------------------
class EditorContext:
    """What the editor asks of the services, on the backend thread."""

    def __init__(self, config: Any, clock: Clock, user: str | None) -> None:
        from cc.services.container import build_services
        from cc.store.calls import CallStore
        from cc.store.db import open_db
        from cc.telephony.handlers import settings_from_config
        from cc.telephony.wiring import ivr_service

        self.config = config
        self.db = open_db(config.db)
        self.services = build_services(config, db=self.db, clock=clock, acting_user=user)
        self.ivr = ivr_service(self.services)
        self.settings = settings_from_config(config)
        self.clock = clock
        self._calls = CallStore(self.db)
        self._scratch: Any = None
        self._sim_runs = 0
        self._pending: Path | None = None  # rebuilt sounds waiting for the save (inside the prompts folder)

    def load(self) -> tuple[int, dict]:
        row, tree = self.ivr.current()
        return int(row["id"]), ivr.tree_to_dict(tree)

    def prompt_files(self) -> set[str]:
        """The prompts with a sound: in the prompts folder, or rebuilt here and waiting for the save."""
        from cc.services.ivr import prompt_files

        pending = set(prompt_files(self._pending)) if self._pending is not None else set()
        return set(prompt_files(self.ivr.prompts_dir)) | pending

    def check(self, plain: dict) -> list[ivr.Problem]:
        return self.ivr.check_plain(plain)[1]

    def save(self, plain: dict, base_id: int | None) -> tuple[int, list[ivr.Problem]]:
        """Save the tree, then put the sounds rebuilt since the last save in place: callers hear a new
        sound only with the tree that has its text. The warnings left are those still true after that."""
        tree_id, warnings = self.ivr.save_plain(plain, base_id=base_id)
        if self._pending is not None:
            self._publish_pending()
            warnings = [p for p in self.ivr.check_plain(plain)[1] if p.severity != "error"]
        return tree_id, warnings

    def _publish_pending(self) -> None:
        import shutil

        from cc.services.ivr import prompt_files

        pending, self._pending = self._pending, None
        live = self.ivr.prompts_dir
        for pid, file in prompt_files(pending).items():
            for old in live.glob(f"{pid}.*"):  # a recording in another format would be played first
                if old.is_file():
                    old.unlink()
            os.replace(file, live / file.name)  # same folder tree: atomic, a call never reads half a file
        shutil.rmtree(pending, ignore_errors=True)

    def discard_pending(self) -> None:
        import shutil

        if self._pending is not None:
            shutil.rmtree(self._pending, ignore_errors=True)
            self._pending = None

    def export(self, path: Path) -> Path:
        from cc.errors import UsageError

        text = self.ivr.export_yaml()
        try:
            path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}", "give a path in a folder you can write") from None
        return path

    def simulate(self, plain: dict, keys: list[str], caller: str) -> Any:
        """The edited tree walked with ``keys`` by the runtime behind ``cc ivr simulate``; nothing is kept
        (the call record goes to an in-memory database)."""
        from cc.services.callers import store_lookup
        from cc.services.ivr import TreeInvalid, simulate_keys
        from cc.services.ivr_calls import IvrRuntime, TreeSource

        try:
            tree = ivr.tree_from_dict(plain)
        except ivr.TreeError as exc:
            raise TreeInvalid("the edited tree", exc.problems) from None
        runtime = IvrRuntime(
            self._scratch_store,
            self.clock,
            self.settings,
            lambda _store, raw: store_lookup(self._calls, raw),
            TreeSource(lambda _store: (0, tree)),
        )
        self._sim_runs += 1
        return simulate_keys(lambda ch: runtime.run(ch), tree, keys, caller_id=caller, call_id=f"sim-{self._sim_runs}",
                             prompts_base=self.settings.prompt_path("").rstrip("/"))

    def _scratch_store(self) -> Any:
        if self._scratch is None:
            from cc.store.calls import CallStore
            from cc.store.db import open_db

            class Scratch(CallStore):
                def close(self) -> None:  # kept for the next simulated call
                    pass

            self._scratch = Scratch(open_db(":memory:"))
        return self._scratch

    def rebuild(self, prompts: dict[str, str]) -> list[Any]:
        """Speak these prompt texts into sound files (espeak-ng + sox, like `cc ivr prompts build`). They wait
        in a folder of their own until the tree is saved; quitting without saving drops them."""
        import tempfile

        from cc.telephony import prompts as tts

        if self._pending is None:
            self.ivr.prompts_dir.mkdir(parents=True, exist_ok=True)
            self._pending = Path(tempfile.mkdtemp(prefix=".cc-ivr-edit-", dir=self.ivr.prompts_dir))
        return tts.build_missing(prompts, self._pending, set(), voice=self.config.ivr.tts_voice, force=True)

    def close(self) -> None:
        self.discard_pending()
        self.db.conn.close()
        if self._scratch is not None:
            self._scratch.conn.close()


class EditorBackend:
    def __init__(self, make: Callable[[], EditorContext]) -> None:
        self._make = make
        self._ctx: EditorContext | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cc-ivr-editor-db")

    def call(self, fn: Callable[[EditorContext], T], timeout: float = 60.0) -> T:
        return self._pool.submit(self._run, fn).result(timeout)

    def _run(self, fn: Callable[[EditorContext], Any]) -> Any:
        if self._ctx is None:
            self._ctx = self._make()
        return fn(self._ctx)

    def close(self) -> None:
        def run() -> None:
            if self._ctx is not None:
                self._ctx.close()
                self._ctx = None

        try:
            self._pool.submit(run).result(10)
        finally:
            self._pool.shutdown(wait=True)


# -- messages ------------------------------------------------------------------------------------------
class Failed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class Loaded(Message):
    def __init__(self, tree_id: int, plain: dict, files: set[str]) -> None:
        super().__init__()
        self.tree_id, self.plain, self.files = tree_id, plain, files


class Checked(Message):
    def __init__(self, problems: list[ivr.Problem], saved_id: int | None = None) -> None:
        super().__init__()
        self.problems, self.saved_id = problems, saved_id


class Simulated(Message):
    def __init__(self, sim: Any, error: BaseException | None = None) -> None:
        super().__init__()
        self.sim, self.error = sim, error


class Done(Message):
    def __init__(self, text: str, files: set[str] | None = None) -> None:
        super().__init__()
        self.text, self.files = text, files


# -- form values -----------------------------------------------------------------------------------------
def field_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_value(key: str, text: str) -> Any:
    """The YAML value of a form field (what does not parse is kept as text: validation names it)."""
    text = text.strip()
    if not text:
        return None
    if key in LIST_FIELDS:
        return [p for p in text.replace(",", " ").split() if p]
    if key in ("status_prompts", "entries"):
        pairs = [p.split("=", 1) for p in text.replace(",", " ").split() if p]
        if all(len(p) == 2 for p in pairs):
            return {k.strip(): v.strip() for k, v in pairs}
        return text
    if key in INT_FIELDS:
        return int(text) if text.isdigit() else text
    if key == "beep":
        return {"true": True, "yes": True, "false": False, "no": False}.get(text.lower(), text)
    return text


def node_prompt_ids(node: dict) -> list[str]:
    ids: list[str] = []
    for key in LIST_FIELDS:
        value = node.get(key)
        ids += [value] if isinstance(value, str) else [str(v) for v in value or []]
    ids += [str(v) for k, v in node.items() if k.endswith("_prompt") and isinstance(v, str)]
    ids += [str(v) for v in (node.get("status_prompts") or {}).values()] if isinstance(node.get("status_prompts"), dict) else []
    if node.get("kind") == "record_greeting" and node.get("greeting"):
        ids.append(str(node["greeting"]))
    return list(dict.fromkeys(ids))


def kind_label(kind: str, L: Callable[[str], str]) -> str:  # noqa: N803
    """The kind's YAML name and, when it differs, its label (the YAML name is what files use)."""
    label = L("ivr_kind_" + kind)
    return kind if label.replace(" ", "_") == kind else f"{kind} · {label}"


def _missing_files(problems: list[ivr.Problem]) -> int:
    """How many prompts lack a sound file (each is reported once per node that uses it)."""
    return len({p.message for p in problems})


def problem_line(p: ivr.Problem) -> str:
    where = p.node if p.node else "tree"
    return f"{where}: {p.message}"


# -- widgets ---------------------------------------------------------------------------------------------
class NodeForm(VerticalScroll, Localized):
    """The selected node's fields (per its kind); Enter or leaving a field applies it."""

    def __init__(self) -> None:
        super().__init__(id="node-form")
        self.nid: str | None = None
        self.node: dict = {}

    def show(self, nid: str | None, node: dict) -> None:
        self.nid, self.node = nid, dict(node)
        self.call_later(self.recompose)

    def compose(self) -> ComposeResult:
        if self.nid is None:
            yield Static(self.L("ivr_pick_node"), classes="form-hint")
            return
        kind = str(self.node.get("kind", ""))
        yield Static(f"[b]{self.nid}[/b]  {self.L('ivr_kind_' + kind)}", id="node-title", markup=True)
        with Horizontal(classes="form-row"):
            yield Label(self.L("kind"), classes="field-label")
            select = Select([(kind_label(k, self.L), k) for k in ivr.KINDS], value=kind if kind in ivr.KINDS
                            else Select.BLANK, id="f-kind", allow_blank=kind not in ivr.KINDS, compact=True)
            select.ivr_node = self.nid  # events name their own node (a form being replaced still sends some)
            yield select
        for key in sorted(ivr.KIND_KEYS.get(kind, ())):
            if key == "branches":
                continue
            with Horizontal(classes="form-row"):
                yield Label(key, classes="field-label")
                default = getattr(_NODE_DEFAULTS, key, None)  # what the runtime uses when the field is empty
                field = Input(field_text(key, self.node.get(key)), id=f"f-{key}", compact=True, classes="field",
                              placeholder=field_text(key, default) if default not in (None, (), "") else "")
                field.ivr_node = self.nid
                yield field


class PromptForm(VerticalScroll, Localized):
    """The texts of the selected node's prompts; ctrl+r speaks them into their sound files again."""

    def __init__(self) -> None:
        super().__init__(id="prompt-form")
        self.pids: list[str] = []
        self.texts: dict[str, str] = {}
        self.files: set[str] = set()

    def show(self, pids: list[str], texts: dict[str, str], files: set[str]) -> None:
        self.pids, self.texts, self.files = pids, dict(texts), set(files)
        self.call_later(self.recompose)

    def compose(self) -> ComposeResult:
        yield Static(self.L("ivr_prompts_help"), classes="form-hint")
        if not self.pids:
            yield Static(self.L("ivr_no_prompts"), classes="form-hint")
        for i, pid in enumerate(self.pids):
            state = self.L("ivr_file_ok") if pid in self.files else self.L("ivr_file_missing")
            yield Label(f"{pid}  ({state})", classes="prompt-label")
            field = Input(self.texts.get(pid, ""), id=f"p-{i}", compact=True, classes="prompt-text")
            field.ivr_prompt = pid
            yield field


class TreeForm(VerticalScroll, Localized):
    """The tree's own settings: its name and language, the start node, other entry points (AGI script
    name = node), the prompts for refused callers and for goodbye."""

    def __init__(self) -> None:
        super().__init__(id="tree-form")
        self.data: dict = {}

    def show(self, data: dict) -> None:
        self.data = {k: data.get(k) for k in TOP_FIELDS}
        self.call_later(self.recompose)

    def compose(self) -> ComposeResult:
        yield Static(self.L("ivr_tree_help"), classes="form-hint")
        for key in TOP_FIELDS:
            with Horizontal(classes="form-row"):
                yield Label(key, classes="field-label")
                field = Input(field_text(key, self.data.get(key)), id=f"t-{key}", compact=True, classes="field")
                field.ivr_top = key
                yield field


class SimPad(Static, can_focus=True):
    """Takes the simulated caller's keys: 0-9 * #, t (timeout), backspace (take back), r (start again)."""

    def on_key(self, event: events.Key) -> None:
        char = event.character or ""
        if event.key == "backspace":
            self.app.sim_key("back")
        elif char and char in "0123456789*#":
            self.app.sim_key(char)
        elif char in ("t", "r"):
            self.app.sim_key({"t": "t", "r": "restart"}[char])
        else:
            return
        event.stop()


class InfoModal(ModalScreen[None], Localized):
    """Lines to read: why the tree was not saved (one line per problem, naming the node), or the keys."""

    BINDINGS = [Binding("escape,enter,f1", "dismiss", "close_key")]

    def __init__(self, title: str, lines: list[str], *, hint: str = "", modal_id: str = "problems-modal") -> None:
        super().__init__(id=modal_id)
        self._localize()
        self.title_text, self.lines, self.hint = title, lines, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box error-box" if self.hint else "modal-box"):
            yield Static(f"[b]{self.title_text}[/b]", markup=True, id="problems-title")
            with VerticalScroll(id="problems-scroll"):
                yield Static("\n".join(self.lines), id="problems-list", markup=False)
            if self.hint:
                yield Static(self.hint, classes="form-hint")

    def action_dismiss(self, result: Any = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class FieldsModal(ModalScreen[Any], Localized):
    """A few text fields (and a choice); Enter on the last field submits a dict of the values."""

    BINDINGS = [Binding("escape", "cancel", "close_key")]

    def __init__(self, title: str, fields: list[tuple[str, str, str]], *, modal_id: str,
                 select: tuple[str, str, list[tuple[str, str]]] | None = None) -> None:
        super().__init__(id=modal_id)
        self._localize()
        self.title_text, self.fields, self.select = title, fields, select

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(f"[b]{self.title_text}[/b]", markup=True)
            if self.select:
                key, label, options = self.select
                yield Label(label)
                yield Select([(text, value) for value, text in options], id=f"form-{key}", allow_blank=False)
            for key, label, value in self.fields:
                yield Label(label)
                yield Input(value, placeholder=label, id=f"form-{key}")

    def on_mount(self) -> None:
        self.query_one(f"#form-{self.fields[0][0]}", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        keys = [k for k, _, _ in self.fields]
        index = keys.index((event.input.id or "").removeprefix("form-"))
        if index + 1 < len(keys):
            self.query_one(f"#form-{keys[index + 1]}", Input).focus()
            return
        values = {k: self.query_one(f"#form-{k}", Input).value for k in keys}
        if self.select:
            values[self.select[0]] = str(self.query_one(f"#form-{self.select[0]}", Select).value)
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


# -- the app -----------------------------------------------------------------------------------------------
class IvrEditorApp(App):
    CSS_PATH = CSS_PATH
    TITLE = "cc ivr edit"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("f1", "help", "help_key"),
        Binding("ctrl+s", "save", "ivr_save"),
        Binding("f2", "add", "ivr_add"),
        Binding("f3", "remove", "ivr_remove"),
        Binding("f4", "move", "ivr_move"),
        Binding("f5", "reorder(-1)", "ivr_up"),
        Binding("f6", "reorder(1)", "ivr_down"),
        Binding("ctrl+z", "undo", "undo_key"),
        Binding("f7", "validate", "ivr_validate"),
        Binding("f8", "simulate", "ivr_sim_key"),
        Binding("f9", "export", "ivr_export", show=False),
        Binding("ctrl+r", "rebuild", "ivr_rebuild", show=False),
        Binding("ctrl+q", "quit_editor", "quit_key", show=False),
    ]

    def __init__(self, backend: EditorBackend, *, locale: str = "zh_CN", dark: bool = True,
                 export_path: str = "ivr-tree.yaml") -> None:
        super().__init__()
        self.backend = backend
        self.locale = locale
        self.theme = "textual-dark" if dark else "textual-light"
        self.export_path = export_path
        self.draft: Draft | None = None
        self.tree_id: int | None = None
        self.files: set[str] = set()
        self.selected: Row | None = None
        self.sim_keys: list[str] = []
        self.sim_digits = ""
        self.sim: Any = None
        self.sim_caller = SIM_CALLER
        self.message = ""
        self.quit_armed = False
        self.save_over = False  # set when a save met a newer version: the next save overwrites it
        self.flagged: set[str] = set()  # nodes the last check found problems in (marked in the tree)

    def L(self, key: str) -> str:  # noqa: N802
        return t(key, self.locale)

    # -- layout ----------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Tree(self.L("ivr_editor_title"), id="outline")
            with TabbedContent(id="tabs", initial="tab-node"):
                with TabPane(self.L("ivr_node"), id="tab-node"):
                    yield NodeForm()
                with TabPane(self.L("ivr_prompts"), id="tab-prompts"):
                    yield PromptForm()
                with TabPane(self.L("ivr_tree"), id="tab-tree"):
                    yield TreeForm()
                with TabPane(self.L("ivr_simulate"), id="tab-sim"):
                    with Horizontal(classes="form-row"):
                        yield Label(self.L("ivr_caller"), classes="field-label")
                        yield Input(SIM_CALLER, id="sim-caller", compact=True)
                    yield Static(self.L("ivr_sim_help"), classes="form-hint")
                    with VerticalScroll(id="sim-scroll"):
                        yield SimPad("", id="sim-pad")
        yield Static("", id="status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        localize_bindings(self, self.locale)
        self.query_one("#outline", Tree).show_root = False
        self.query_one("#outline", Tree).guide_depth = 2
        self._load()

    def on_unmount(self) -> None:
        try:
            self.backend.close()
        except Exception:  # noqa: BLE001, S110 - best effort on the way out
            pass

    # -- workers -----------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        try:
            tree_id, plain = self.backend.call(lambda c: c.load())
            files = self.backend.call(lambda c: c.prompt_files())
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.post_message(Failed(exc))
            return
        self.post_message(Loaded(tree_id, plain, files))

    @work(thread=True, exclusive=True, exit_on_error=False, group="check")
    def _check(self, plain: dict, save: bool, base_id: int | None = None) -> None:
        from cc.services.ivr import TreeInvalid, blocking

        try:
            problems = self.backend.call(lambda c: c.check(plain))
            if not save or blocking(problems):
                self.post_message(Checked(problems))
                return
            saved_id, warnings = self.backend.call(lambda c: c.save(plain, base_id))
        except TreeInvalid as exc:
            self.post_message(Checked(exc.problems))
            return
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc))
            return
        self.post_message(Checked(warnings, saved_id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sim")
    def _simulate(self, plain: dict, keys: list[str], caller: str) -> None:
        try:
            sim = self.backend.call(lambda c: c.simulate(plain, keys, caller))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Simulated(None, exc))
            return
        self.post_message(Simulated(sim))

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, path: str) -> None:
        try:
            written = self.backend.call(lambda c: c.export(Path(path)))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc))
            return
        self.post_message(Done(self.L("ivr_exported").format(path=written)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rebuild")
    def _rebuild(self, prompts: dict[str, str]) -> None:
        try:
            built = self.backend.call(lambda c: c.rebuild(prompts), timeout=300)
            files = self.backend.call(lambda c: c.prompt_files())
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc))
            return
        self.post_message(Done(self.L("ivr_rebuilt").format(n=len(built)), files))

    # -- handlers ---------------------------------------------------------------------------------------
    def on_failed(self, message: Failed) -> None:
        from cc.services.ivr import TreeChanged

        error = message.error
        self.save_over = isinstance(error, TreeChanged)  # the next save puts this version over the other
        if isinstance(error, CcError):
            text, hint = error.message, error.hint or ""
        else:
            text, hint = str(error) or type(error).__name__, self.L("ivr_try_again")
        self.push_screen(InfoModal(self.L("error"), [text], hint=f"{self.L('hint')}: {hint}" if hint else "",
                                   modal_id="error-modal"))

    def on_loaded(self, message: Loaded) -> None:
        self.draft = Draft(message.plain)
        self.tree_id, self.files = message.tree_id, message.files
        self.selected = None
        self.redraw(select_node=self.draft.data.get("start"))
        self._say(self.L("ivr_loaded").format(id=message.tree_id))

    def on_checked(self, message: Checked) -> None:
        from cc.services.ivr import blocking

        problems = message.problems
        if message.saved_id is not None:
            self.tree_id, self.save_over = message.saved_id, False
            if self.flagged:
                self.flagged = set()
                self.redraw(forms=False)
            if self.draft:  # edits made while the save ran are still unsaved
                self.draft.changes = max(self.draft.changes - self._saving_changes, 0)
            text = self.L("ivr_saved").format(id=message.saved_id)
            if problems:
                text += " · " + self.L("ivr_warnings").format(n=_missing_files(problems))
            self._say(text)
            return
        errors = blocking(problems)
        self.flagged = {p.node for p in errors if p.node}
        self.redraw(forms=False)  # the nodes with problems get a mark in the tree
        if errors:
            self._say(self.L("ivr_not_saved").format(n=len(errors)) if self._saving else
                      self.L("ivr_problems").format(n=len(errors)))
            title = (self.L("ivr_not_saved") if self._saving else self.L("ivr_problems")).format(n=len(errors))
            self.push_screen(InfoModal(title, [problem_line(p) for p in errors], hint=self.L("ivr_problems_hint")))
        else:
            text = self.L("ivr_valid")
            if problems:
                text += " · " + self.L("ivr_warnings").format(n=_missing_files(problems))
            self._say(text)

    _saving = False
    _saving_changes = 0

    def on_done(self, message: Done) -> None:
        if message.files is not None:
            self.files = message.files
            self._show_prompts()
        self._say(message.text)

    def on_simulated(self, message: Simulated) -> None:
        pad = self.query_one("#sim-pad", SimPad)
        if message.error is not None:
            error = message.error
            lines = [problem_line(p) for p in getattr(error, "problems", [])] or [str(error)]
            pad.update(self.L("ivr_sim_cannot") + "\n" + "\n".join(lines))
            self.sim = None
            return
        sim = self.sim = message.sim
        out = list(sim.lines)
        if sim.result is None:
            where = sim.path[-1] if sim.path else "?"
            if sim.waiting_for == "digits":
                out.append("▶ " + self.L("ivr_sim_digits").format(node=where, digits=self.sim_digits))
            else:
                out.append("▶ " + self.L("ivr_sim_waiting").format(node=where))
        else:
            out.append(f"== {sim.result}: {sim.reason}")
        out.append("== " + " > ".join(sim.path))
        pad.update("\n".join(line.replace("♪ ", "♪") for line in out))  # a long prompt folds, not jumps a line
        self.query_one("#sim-scroll", VerticalScroll).scroll_end(animate=False)

    # -- drawing ---------------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.message = text
        self._status()

    def _status(self) -> None:
        parts = []
        if self.tree_id is not None:
            parts.append(self.L("ivr_tree_version").format(id=self.tree_id))
        if self.draft and self.draft.changes:
            parts.append(self.L("ivr_unsaved").format(n=self.draft.changes))
        if self.message:
            parts.append(self.message)
        self.query_one("#status", Static).update(" · ".join(parts))

    def _row_label(self, row: Row) -> str:
        assert self.draft is not None
        edge = {"then": self.L("ivr_then"), "on fail": self.L("ivr_on_fail"), "inbound": self.L("ivr_inbound"),
                "unreachable": self.L("ivr_unreachable")}.get(row.label, row.label)
        if row.missing:
            return f"{edge}: {row.node} ✗ {self.L('ivr_missing')}"
        if row.ref:
            return f"{edge}: ↪ {row.node}"
        node = self.draft.nodes[row.node]
        kind = self.L("ivr_kind_" + str(node.get("kind")))
        label = f" “{node['label']}”" if node.get("label") else ""
        mark = "⚠ " if row.node in self.flagged else ""
        return f"{edge}: {mark}{row.node} · {kind}{label}"

    def redraw(self, select_node: str | None = None, forms: bool = True) -> None:
        """Draw the outline again and keep the selection (the same edge, else the same node); ``forms``:
        draw the node's forms again too (not after an edit made in them: the cursor stays in its field)."""
        if self.draft is None:
            return
        tree: Tree = self.query_one("#outline", Tree)
        want = self.selected
        tree.clear()
        stack: list[Any] = [tree.root]
        chosen = None
        fallback = None
        for row in self.draft.outline():
            del stack[row.depth + 1:]
            parent = stack[-1]
            item = parent.add(self._row_label(row), data=row, expand=True, allow_expand=not (row.ref or row.missing))
            stack.append(item)
            if want is not None and (row.node, row.parent, row.slot) == (want.node, want.parent, want.slot):
                chosen = item
            if fallback is None and row.node == (select_node or (want.node if want else None)) and not row.ref:
                fallback = item
        tree.root.expand_all()
        target = chosen or fallback
        if target is not None:
            self.selected = target.data
            self.call_after_refresh(tree.move_cursor, target)  # its line is known once the tree is laid out
        if forms or target is None:
            self._show_node()
            self.query_one(TreeForm).show(self.draft.data)
        self._status()

    def _show_node(self) -> None:
        assert self.draft is not None
        row = self.selected
        nid = row.node if row and row.node in self.draft.nodes else None
        self.query_one(NodeForm).show(nid, self.draft.nodes.get(nid, {}) if nid else {})
        self._show_prompts()

    def _show_prompts(self) -> None:
        if self.draft is None:
            return
        row = self.selected
        node = self.draft.nodes.get(row.node, {}) if row else {}
        self.query_one(PromptForm).show(node_prompt_ids(node), self.draft.prompts, self.files)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        row = event.node.data
        if row is None or row == self.selected or event.node is not event.control.cursor_node:
            return  # the selection already, or a stale event from before the outline was drawn again
        self.selected = row
        self._show_node()

    # -- editing ------------------------------------------------------------------------------------------
    def _edit(self, fn: Callable[[], Any], select_node: str | None = None, select_row: Row | None = None,
              forms: bool = True) -> Any:
        """Run an edit on the draft; a refused edit is a one-line message, never a crash. ``select_node`` /
        ``select_row``: what to select afterwards (default: the same row)."""
        try:
            result = fn()
        except EditError as exc:
            self._say(str(exc))
            self.bell()
            return None
        self.quit_armed = False
        if select_node is not None or select_row is not None:
            self.selected = select_row
        self.message = ""
        self.redraw(select_node=select_node, forms=forms)
        if self.sim is not None or self.sim_keys:
            self._run_sim()
        return result

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply_input(event.input)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self._apply_input(event.input)

    def _apply_input(self, widget: Input) -> None:
        if self.draft is None or widget.id is None:
            return
        if widget.id == "sim-caller":
            if widget.value.strip() != self.sim_caller:
                self.sim_caller = widget.value.strip()
                self._run_sim()
            return
        nid = getattr(widget, "ivr_node", None)
        pid = getattr(widget, "ivr_prompt", None)
        top = getattr(widget, "ivr_top", None)
        if top is not None:
            value = field_value(top, widget.value)
            if self.draft.data.get(top) != value:
                self._edit(lambda: self.draft.set_top({top: value}), forms=False)
            return
        if nid is not None and widget.id.startswith("f-") and nid in self.draft.nodes:
            key = widget.id[2:]
            value = field_value(key, widget.value)
            if self.draft.nodes[nid].get(key) != value:
                self._edit(lambda: self.draft.set_fields(nid, {key: value}), forms=False)
                self._show_prompts()  # the node's prompt ids may have changed
        elif pid is not None and self.draft.prompts.get(pid, "") != widget.value.strip():
            self._edit(lambda: self.draft.set_prompt(pid, widget.value), forms=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        nid = getattr(event.select, "ivr_node", None)
        if self.draft is None or nid not in self.draft.nodes or event.value is Select.BLANK:
            return
        if self.draft.nodes[nid].get("kind") != event.value:
            self._edit(lambda: self.draft.set_kind(nid, str(event.value)))

    def _menu_for_add(self) -> str | None:
        row = self.selected
        if self.draft is None or row is None:
            return None
        if self.draft.nodes.get(row.node, {}).get("kind") == "menu":
            return row.node
        if row.parent and self.draft.nodes.get(row.parent, {}).get("kind") == "menu":
            return row.parent
        return None

    def action_add(self) -> None:
        menu = self._menu_for_add()
        if menu is None or self.draft is None:
            self._say(self.L("ivr_pick_menu"))
            return
        free = self.draft.free_keys(menu)
        key = free[0] if free else ""
        fields = [("key", self.L("ivr_key"), key),
                  ("target", self.L("ivr_target"), self.draft.add_node_id(f"{menu}_{key or 'x'}"))]
        kinds = [(k, kind_label(k, self.L)) for k in ivr.KINDS]

        def done(values: dict | None) -> None:
            if values:
                target = values["target"].strip()
                self._edit(lambda: self.draft.add_branch(menu, values["key"], target, str(values["kind"])),
                           select_node=target)

        self.push_screen(FieldsModal(f"{self.L('ivr_add_title')}: {menu}", fields, modal_id="add-modal",
                                   select=("kind", self.L("ivr_new_kind"), kinds)), done)

    def action_remove(self) -> None:
        row = self.selected
        if self.draft is not None and row is not None and row.label == "unreachable" and row.parent is None:
            if self._edit(lambda: self.draft.delete_node(row.node) or True, select_node=self.draft.data.get("start")):
                self._say(self.L("ivr_removed").format(what=row.node))
            return
        if self.draft is None or row is None or row.parent is None:
            self._say(self.L("ivr_pick_branch"))
            return
        parent = row.parent
        gone = self._edit(lambda: self.draft.remove(parent, row.slot), select_node=parent)
        if gone is not None:
            self._say(self.L("ivr_removed").format(what=", ".join(gone) or f"{parent} {row.label}"))

    def action_reorder(self, delta: int) -> None:
        row = self.selected
        if self.draft is None or row is None or key_of(row.slot) is None:
            self._say(self.L("ivr_pick_branch"))
            return
        self._edit(lambda: self.draft.reorder(row.parent or "", row.slot or "", delta))

    def action_move(self) -> None:
        row = self.selected
        if self.draft is None or row is None or row.parent is None:
            self._say(self.L("ivr_pick_branch"))
            return
        current = key_of(row.slot) or ""
        value = (self.draft.nodes[row.parent].get("branches") or {}).get(current) if current else None
        when = str(value.get("when") or "") if isinstance(value, dict) else ""
        fields = [("target", self.L("ivr_leads_to"), row.node), ("menu", self.L("ivr_to_menu"), row.parent),
                  ("when", self.L("ivr_when"), when), ("key", self.L("ivr_key"), current)]

        def done(values: dict | None) -> None:
            if values:
                menu, key, cond = values["menu"].strip(), values["key"].strip(), values["when"].strip() or None
                to = values["target"].strip() or row.node
                self._edit(lambda: self.draft.move(row.parent or "", row.slot or "", menu, key, cond, to),
                           select_node=to, select_row=Row(0, to, menu, "branch:" + key, key))

        self.push_screen(FieldsModal(f"{self.L('ivr_move_title')}: {row.parent} {row.label} → {row.node}", fields,
                                   modal_id="move-modal"), done)

    def action_undo(self) -> None:
        if self.draft is None:
            return
        what = self.draft.undo()
        if what is None:
            self._say(self.L("nothing_to_undo"))
            return
        self.redraw()
        self._say(self.L("ivr_undone").format(what=what))
        if self.sim is not None or self.sim_keys:
            self._run_sim()

    # -- check, save, export, rebuild -----------------------------------------------------------------------
    def _flush_focused(self) -> None:
        """An Input being typed in counts before a check or a save."""
        focused = self.focused
        if isinstance(focused, Input):
            self._apply_input(focused)

    def action_validate(self) -> None:
        if self.draft is None:
            return
        self._flush_focused()
        self._saving = False
        self._check(copy.deepcopy(self.draft.data), False)

    def action_save(self) -> None:
        if self.draft is None:
            return
        self._flush_focused()
        self._saving = True
        self._saving_changes = self.draft.changes
        self._check(copy.deepcopy(self.draft.data), True, None if self.save_over else self.tree_id)

    def action_export(self) -> None:
        if self.draft is None:
            return
        if self.draft.changes:
            self._say(self.L("ivr_export_unsaved"))
            return

        def done(values: dict | None) -> None:
            if values and values["path"].strip():
                self.export_path = values["path"].strip()
                self._export(self.export_path)

        self.push_screen(FieldsModal(self.L("ivr_export_title"), [("path", self.L("ivr_file"), self.export_path)],
                                   modal_id="export-modal"), done)

    def action_rebuild(self) -> None:
        if self.draft is None:
            return
        self._flush_focused()
        form = self.query_one(PromptForm)
        focused = self.focused
        pids = form.pids
        if isinstance(focused, Input) and getattr(focused, "ivr_prompt", None):
            pids = [focused.ivr_prompt]
        texts = {pid: self.draft.prompts[pid] for pid in pids if self.draft.prompts.get(pid)}
        if not texts:
            self._say(self.L("ivr_no_prompts"))
            return
        self._say(self.L("ivr_rebuilding").format(n=len(texts)))
        self._rebuild(texts)

    def action_help(self) -> None:
        names = {"ivr_up": "ivr_up_long", "ivr_down": "ivr_down_long"}
        lines = [f"{b.key.replace('ctrl+', '^'):<6} {self.L(names.get(b.description, b.description))}"
                 for b in self.BINDINGS]
        lines += ["", self.L("ivr_sim_help"), self.L("ivr_prompts_help")]
        self.push_screen(InfoModal(self.L("help_title"), lines, modal_id="help-modal"))

    def action_quit_editor(self) -> None:
        if self.draft is not None and self.draft.changes and not self.quit_armed:
            self.quit_armed = True
            self._say(self.L("ivr_quit_unsaved"))
            return
        self.exit()

    # -- simulate -------------------------------------------------------------------------------------------
    def action_simulate(self) -> None:
        self.query_one("#tabs", TabbedContent).active = "tab-sim"
        self.query_one("#sim-pad", SimPad).focus()
        self._run_sim()

    def sim_key(self, key: str) -> None:
        waiting_digits = self.sim is not None and self.sim.result is None and self.sim.waiting_for == "digits"
        if key == "restart":
            self.sim_keys, self.sim_digits = [], ""
        elif key == "back":
            if self.sim_digits:
                self.sim_digits = self.sim_digits[:-1]
            elif self.sim_keys:
                self.sim_keys.pop()
        elif waiting_digits and key != "t":
            if key == "#":
                self.sim_keys.append(self.sim_digits + "#")
                self.sim_digits = ""
            else:
                self.sim_digits += key
        else:
            self.sim_keys.append(key)
        self._run_sim()

    def _run_sim(self) -> None:
        if self.draft is None:
            return
        self._simulate(copy.deepcopy(self.draft.data), list(self.sim_keys), self.sim_caller)


def make_ivr_editor_app(config: Any, *, clock: Clock | None = None, user: str | None = None,
                        locale: str | None = None, dark: bool = True, export_path: str = "ivr-tree.yaml") -> IvrEditorApp:
    """The editor for the configured database (the command and the tests build the same app)."""
    clock = clock or SystemClock()
    backend = EditorBackend(lambda: EditorContext(config, clock, user))
    return IvrEditorApp(backend, locale=locale or config.resolved_locale(), dark=dark, export_path=export_path)
