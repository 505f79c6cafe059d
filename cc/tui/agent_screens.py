"""The agent console's screens other than the main one: sign-in, help, and the modal forms (error, pause,
wrap-up, new customer, complaint, search, call control). Each modal dismisses with its values; the app's
workers do the service calls."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from cc.tui.common import ErrorModal, KeysHelp, Localized, SignInScreen, localize_bindings  # noqa: F401


def _form_state(screen: Any) -> dict[str, tuple[str, Any]]:
    """What the user typed or picked on a screen, by widget id: inputs, selects, lists, tabs, focus."""
    from textual.widgets import TabbedContent

    state: dict[str, tuple[str, Any]] = {}
    for widget in screen.query("Input, Select, OptionList, TabbedContent"):
        if not widget.id:
            continue
        if isinstance(widget, Input | Select):
            state[widget.id] = ("value", widget.value)
        elif isinstance(widget, OptionList):
            state[widget.id] = ("highlighted", widget.highlighted)
        elif isinstance(widget, TabbedContent):
            state[widget.id] = ("active", widget.active)
    if screen.focused is not None and screen.focused.id:
        state["__focus__"] = ("focus", screen.focused.id)
    return state


def _restore_state(screen: Any, state: dict[str, tuple[str, Any]]) -> None:
    from textual.css.query import NoMatches

    for widget_id, (attr, value) in state.items():
        try:
            if attr == "focus":
                screen.query_one(f"#{widget_id}").focus()
            else:
                widget = screen.query_one(f"#{widget_id}")
                if getattr(widget, attr) != value and not (attr == "highlighted" and value is None):
                    setattr(widget, attr, value)
        except (NoMatches, ValueError, LookupError):  # gone in the new composition, or a stale option
            continue


async def relabel(screen: Any, locale: str) -> None:
    """Compose ``screen`` again in ``locale``: every label, key and placeholder; what the user typed, picked
    and focused stays (a screen may redraw its own content after, in ``relabeled``)."""
    state = _form_state(screen)
    localize_bindings(screen, locale)
    await screen.recompose()
    _restore_state(screen, state)
    redraw = getattr(screen, "relabeled", None)
    if redraw is not None:
        redraw()


class ConsoleSignIn(SignInScreen):
    """The agent console's sign-in: with the language key (F12) in its footer."""

    BINDINGS = [Binding("f12", "app.language", "language_key")]


class ChoiceModal(ModalScreen[Any], Localized):
    """Pick one option (pause reason, wrap-up code...), with an optional text (notes)."""

    BINDINGS = [Binding("escape", "cancel", "close_key")]

    def __init__(self, title: str, options: list[tuple[str, str]], *, text_label: str | None = None,
                 modal_id: str = "choice-modal", keys: bool = False) -> None:
        """``keys``: the title, the option labels and the text label are catalog keys."""
        super().__init__(id=modal_id)
        self._localize()
        self.title_text, self.options, self.text_label, self.keys = title, options, text_label, keys

    def _label(self, text: str) -> str:
        return self.L(text) if self.keys else text

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(f"[b]{self._label(self.title_text)}[/b]", markup=True)
            yield OptionList(*[Option(self._label(label), id=key) for key, label in self.options], id="choice-list")
            if self.text_label:
                yield Input(placeholder=self._label(self.text_label), id="choice-text")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        text = self.query_one("#choice-text", Input).value if self.text_label else ""
        self.dismiss((event.option.id, text) if self.text_label else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FormModal(ModalScreen[Any], Localized):
    """A few text fields; Enter on the last one (or ctrl+s) submits a dict of the values. ctrl+z undoes the
    last change of a field (the line at the bottom says which). The title and the field labels are catalog
    keys; a select's option labels are shown as given."""

    BINDINGS = [Binding("escape", "cancel", "close_key"), Binding("ctrl+s", "submit", "save_key"),
                Binding("ctrl+z", "undo", "undo_key")]

    def __init__(self, title: str, fields: list[tuple[str, str, str]], *, modal_id: str = "form-modal",
                 select: tuple[str, str, list[tuple[str, str]]] | None = None) -> None:
        super().__init__(id=modal_id)
        self._localize()
        self.title_text, self.fields, self.select = title, fields, select
        self.values = {key: value for key, _, value in fields}  # the form's content (what undo restores)
        from cc.tui.agent_undo import UndoLog

        self.undo = UndoLog()

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(f"[b]{self.L(self.title_text)}[/b]", markup=True)
            if self.select:
                key, label, options = self.select
                yield Label(self.L(label))
                picked = {"value": self.values.get(key) or options[0][0]} if options else {}
                yield Select([(text, value) for value, text in options], id=f"form-{key}", allow_blank=False, **picked)
            for key, label, _ in self.fields:
                yield Label(self.L(label))
                yield Input(self.values[key], placeholder=self.L(label), id=f"form-{key}")
            yield Static("", id="form-undo", classes="undo-hint")

    def relabeled(self) -> None:
        self._draw_hint()

    def on_mount(self) -> None:
        if self.select:
            self.values[self.select[0]] = str(self.query_one(f"#form-{self.select[0]}", Select).value)
        first = next((k for k, _, v in self.fields if not v), self.fields[0][0] if self.fields else None)
        if first:
            self.query_one(f"#form-{first}", Input).focus()

    def _changed(self, key: str, value: str) -> None:
        if key not in self.values or self.values[key] == value:
            return  # an echo of undo restoring the field
        self.undo.record(dict(self.values), "undo_field", key, field=key, old=self.values[key], new=value)
        self.values[key] = value
        self._draw_hint()

    def _draw_hint(self) -> None:
        hint = self.undo.hint(self.app.locale)
        widget = self.query_one("#form-undo", Static)
        widget.update(hint)
        widget.display = bool(hint)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._changed((event.input.id or "").removeprefix("form-"), event.value)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self.undo.stop_merging()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._changed((event.select.id or "").removeprefix("form-"), str(event.value))

    def action_undo(self) -> None:
        step = self.undo.pop()
        if step is None:
            return
        self.values = dict(step.before)
        for key, value in self.values.items():
            if self.select and key == self.select[0]:
                self.query_one(f"#form-{key}", Select).value = value
            else:
                self.query_one(f"#form-{key}", Input).value = value
        self._draw_hint()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        keys = [k for k, _, _ in self.fields]
        index = keys.index(event.input.id.removeprefix("form-"))
        if index + 1 < len(keys):
            self.query_one(f"#form-{keys[index + 1]}", Input).focus()
        else:
            self.action_submit()

    def action_submit(self) -> None:
        values = {k: self.query_one(f"#form-{k}", Input).value for k, _, _ in self.fields}
        if self.select:
            values[self.select[0]] = self.query_one(f"#form-{self.select[0]}", Select).value
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SearchModal(ModalScreen[Any], Localized):
    """Customers by phone, name or order code; Enter on a result opens its card."""

    BINDINGS = [Binding("escape", "cancel", "close_key")]

    def __init__(self) -> None:
        super().__init__(id="search-modal")
        self._localize()

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(f"[b]{self.L('search')}[/b]", markup=True)
            yield Input(placeholder=self.L("search_hint"), id="search-text")
            yield OptionList(id="search-results")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.app.run_search(event.value, self)

    found: tuple | None = None

    def relabeled(self) -> None:
        if self.found is not None:
            self.show_results(self.found)

    def show_results(self, found: tuple) -> None:
        self.found = found
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        for f in found:
            results.add_option(Option(f"{self.L(f.kind)}: {f.label}", id=f"{f.kind}|{f.phone}|{f.key}"))
        if not found:
            results.add_option(Option(self.L("nothing_found"), disabled=True))
        else:
            results.highlighted = 0
        results.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        kind, phone, key = (event.option.id or "||").split("|", 2)
        self.dismiss({"kind": kind, "phone": phone, "key": key})

    def action_cancel(self) -> None:
        self.dismiss(None)


class ControlModal(ModalScreen[Any], Localized):
    """Call controls: choose an action; a target (queue, agent, expert, number) when it needs one. Dial
    without a target calls the customer on screen."""

    BINDINGS = [Binding("escape", "cancel", "close_key")]

    def __init__(self, number: str = "") -> None:
        super().__init__(id="control-modal")
        self._localize()
        self.number = number

    def compose(self) -> ComposeResult:
        from cc.services.agent_console import CONTROL_ACTIONS, NEEDS_TARGET

        def label(action: str) -> str:
            text = self.L(f"ctl_{action}")
            if action in NEEDS_TARGET:
                return f"{text} …"
            if action == "dial" and self.number:
                return f"{text} {self.number}"
            return text

        with Vertical(classes="modal-box"):
            yield Static(f"[b]{self.L('call_controls')}[/b]", markup=True)
            yield Input("", placeholder=self.L("target_hint"), id="control-target")
            yield OptionList(*[Option(label(a), id=a) for a in CONTROL_ACTIONS], id="control-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((event.option.id, self.query_one("#control-target", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP_KEYS = (
    ("F1", "help_key"), ("F2", "ready_key"), ("F3", "pause_key"), ("F4", "away_key"), ("F5", "done_key"),
    ("F6", "search_key"), ("F7", "complaint_key"), ("F8", "calls_key"), ("F9", "wrap_up_key"),
    ("F10", "sign_out_key"), ("ctrl+s", "submit_key"), ("ctrl+e", "amend_key"), ("ctrl+x", "cancel_order_key"),
    ("ctrl+z", "undo_key"), ("ctrl+k", "card_key"), ("ctrl+g", "order_key"), ("ctrl+n", "add_line_key"),
    ("ctrl+r", "remove_line_key"), ("ctrl+o", "history_key"), ("ctrl+t", "theme_key"), ("F12 ^l", "language_help"),
    ("ctrl+q", "quit_key"),
)


class HelpScreen(KeysHelp):
    """The console's keys (F1)."""

    KEYS = HELP_KEYS
