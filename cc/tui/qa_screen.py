"""The QA screen (issue 7): recorded calls to review, "play to my phone", and a scoring form (one input per
criterion of the scorecard, a live weighted total, save). The supervisor dashboard mounts it on a key:
``app.push_screen(make_qa_screen(app))``.

Same pattern as the agent console: the screen never touches the database. A ``run`` callable executes
``fn(ctx)`` on the backend's database thread (``ctx`` is the dashboard's ``SupervisorService``, or anything
with ``.services`` and ``.control``: a callable opening a call-control session, None without Asterisk);
workers call it and post messages; only handlers touch widgets. The live total is the pure domain rule
(``cc.domain.qa``), computed on the UI thread from the card loaded once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from cc.domain import qa
from cc.errors import Unreachable
from cc.tui.common import ErrorModal, Localized, err_text

Run = Callable[[Callable[[Any], Any]], Any]
REVIEW_DAYS = 30  # the list covers the last 30 days


# -- what runs on the database thread ----------------------------------------------------------------------
def _service(ctx: Any, player: Any = None) -> Any:
    from cc.services.qa import qa_service

    return qa_service(ctx.services, player=player)


def load(ctx: Any, unscored: bool) -> tuple[qa.Scorecard, dict, list[dict]]:
    """The scorecard and the calls of the last REVIEW_DAYS days."""
    svc = _service(ctx)
    row, card = svc.card()
    since, until = svc.period(svc.today() - timedelta(days=REVIEW_DAYS - 1), None)
    return card, {"name": row["name"], "version": row["version"]}, svc.calls(since, until, unscored=unscored)


def newest_score(ctx: Any, call: str) -> dict | None:
    """The call's newest score (the one that counts), or None when it has none."""
    scores = _service(ctx).call(call)["scores"]
    return max(scores, key=lambda s: s["id"]) if scores else None


def score(ctx: Any, call: str, answers: dict[str, str], comment: str) -> dict:
    return _service(ctx).score(call, answers, comment=comment)


def play(ctx: Any, call: str) -> dict:
    """Ring the signed-in supervisor's phone and play the call's recording."""
    from cc.services.qa import ControlPlayer

    opener = getattr(ctx, "control", None)
    if opener is None:
        raise Unreachable("no connection to Asterisk to play the recording", "check asterisk.ami in the config")
    with opener() as control:  # the dashboard's --dial phone if it was given, else the supervisor's own
        return _service(ctx, ControlPlayer(control)).play(call, dial=getattr(ctx, "dial", None))


# -- messages --------------------------------------------------------------------------------------------
class QaLoaded(Message):
    def __init__(self, card: qa.Scorecard, card_row: dict, calls: list[dict]) -> None:
        super().__init__()
        self.card, self.card_row, self.calls = card, card_row, calls


class QaDone(Message):
    def __init__(self, text: str, reload: bool) -> None:
        super().__init__()
        self.text, self.reload = text, reload


class QaShown(Message):
    """The newest score of a call, to show in the form (None: the call has none)."""

    def __init__(self, call: str, score: dict | None) -> None:
        super().__init__()
        self.call, self.score = call, score


class QaFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class QaScreen(Screen, Localized):
    DEFAULT_CSS = """
    QaScreen #qa-title { height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
    QaScreen #qa-calls { height: 1fr; min-height: 5; }
    QaScreen #qa-form { height: 1fr; border-top: solid $primary; }
    QaScreen .qa-row { height: 1; }
    QaScreen .qa-label { width: 1fr; padding: 0 1; }
    QaScreen .qa-input { width: 12; }
    QaScreen #qa-comment { width: 1fr; }
    QaScreen #qa-total { height: 1; padding: 0 1; text-style: bold; color: $accent; }
    QaScreen #qa-total.invalid { color: $error; }
    QaScreen #qa-activity { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "qa_back_key"),
        Binding("f5", "play", "qa_play_key"),
        Binding("ctrl+s", "save", "qa_save_key"),
        Binding("f6", "toggle_unscored", "qa_unscored_key"),
        Binding("ctrl+r", "reload", "qa_refresh_key"),
    ]

    def __init__(self, run: Run) -> None:
        super().__init__(id="qa-screen")
        self._localize()
        self.run_on_backend = run
        self.card: qa.Scorecard | None = None
        self.calls: list[dict] = []
        self.call: str | None = None  # the highlighted call
        self.unscored = False
        self.loads = 0  # lists drawn (tests wait on it)
        self.shown = 0  # forms filled from the highlighted call's score or cleared (tests wait on it)
        self.form_call: str | None = None  # the call whose score the form holds (None: empty or typed afresh)
        self.activity = ""

    def compose(self) -> ComposeResult:
        yield Static(self.L("qa_title"), id="qa-title")
        yield DataTable(id="qa-calls", cursor_type="row", zebra_stripes=True)
        yield VerticalScroll(id="qa-form")
        yield Static("", id="qa-total")
        yield Static("", id="qa-activity")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        L = self.L  # noqa: N806
        self.query_one("#qa-calls", DataTable).add_columns(
            L("call"), L("at"), L("qa_agent"), L("phone"), L("qa_duration"), L("qa_survey"), L("qa_score"))
        self._load()

    # -- loading ---------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="qa-load")
    def _load(self) -> None:
        unscored = self.unscored
        try:
            card, row, calls = self.run_on_backend(lambda ctx: load(ctx, unscored))
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.post_message(QaFailed(exc))
            return
        self.post_message(QaLoaded(card, row, calls))

    async def on_qa_loaded(self, message: QaLoaded) -> None:
        first = self.card is None or self.card != message.card
        self.calls = message.calls
        locale = getattr(self.app, "locale", "en")
        title = f"{self.L('qa_title')} · {message.card.title(locale)} v{message.card_row['version']}"
        if self.unscored:
            title += f" · {self.L('qa_unscored_key')}"
        self.query_one("#qa-title", Static).update(title)
        if first:
            self.card = None  # no total until the form is mounted
            await self._build_form(message.card)
            self.card = message.card
        table = self.query_one("#qa-calls", DataTable)
        keep = self.call
        table.clear()
        for c in self.calls:
            table.add_row(c["call"], c["local_at"][5:], c["agent"], c["caller"], _num(c["duration_s"]), _num(c["survey"]),
                          _num(c["qa_total"]), key=c["call"])
        ids = [c["call"] for c in self.calls]
        if keep in ids:
            table.move_cursor(row=ids.index(keep), animate=False)
        self.call = ids[table.cursor_row] if ids else None
        if not ids:
            self._say(self.L("qa_no_calls"))
        self._update_total()
        self._follow(self.call)
        self.loads += 1

    async def _build_form(self, card: qa.Scorecard) -> None:
        form = self.query_one("#qa-form", VerticalScroll)
        await form.remove_children()
        locale = getattr(self.app, "locale", "en")
        rows = []
        for c in card.criteria:
            hint = self.L("qa_yes_no_hint") if c.kind == "yesno" else f"0-{c.max_points}"
            rows.append(Horizontal(
                Label(f"{c.label(locale)} ({c.weight:g}%)", classes="qa-label"),
                Input(placeholder=hint, id=f"qa-v-{c.key}", classes="qa-input", compact=True),
                classes="qa-row"))
        rows.append(Horizontal(Label(self.L("qa_comment"), classes="qa-label"),
                               Input(id="qa-comment", compact=True), classes="qa-row"))
        await form.mount_all(rows)

    # -- the form ---------------------------------------------------------------------------------------
    def answers(self) -> dict[str, str]:
        out = {}
        for c in self.card.criteria if self.card else ():
            value = self.query_one(f"#qa-v-{c.key}", Input).value.strip()
            if value:
                out[c.key] = value
        return out

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("qa-v-"):
            self._update_total()

    def _update_total(self) -> None:
        total = self.query_one("#qa-total", Static)
        if self.card is None:
            return
        try:
            value = qa.weighted_total(self.card, qa.check_answers(self.card, self.answers(), complete=False))
        except qa.AnswerError as exc:
            total.update(f"{self.L('qa_total')}: - ({exc.message})")
            total.add_class("invalid")
            return
        total.remove_class("invalid")
        call = f" · {self.L('call')} {self.call}" if self.call else ""
        total.update(f"{self.L('qa_total')}: {value:g} / 100{call}")

    def _clear_form(self) -> None:
        for c in self.card.criteria if self.card else ():
            self.query_one(f"#qa-v-{c.key}", Input).value = ""
        self.query_one("#qa-comment", Input).value = ""
        self.form_call = None

    @on(DataTable.RowHighlighted, "#qa-calls")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        call = event.row_key.value if event.row_key is not None else None
        changed, self.call = call != self.call, call
        self._update_total()
        if changed:
            self._follow(call)

    def _follow(self, call: str | None) -> None:
        """The form follows the highlighted call: a scored call shows its newest score (a re-score starts
        from it), an unscored one an empty form (so one call's answers are never saved for another)."""
        scored = any(c["call"] == call and c["qa_total"] is not None for c in self.calls)
        if scored:
            self._fetch_score(call)
        elif self.form_call is not None or call is None:
            self._clear_form()
            self.shown += 1
        else:
            self.shown += 1

    @work(thread=True, exclusive=True, exit_on_error=False, group="qa-show")
    def _fetch_score(self, call: str) -> None:
        try:
            found = self.run_on_backend(lambda ctx: newest_score(ctx, call))
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.post_message(QaFailed(exc))
            return
        self.post_message(QaShown(call, found))

    def on_qa_shown(self, message: QaShown) -> None:
        if message.call != self.call or self.card is None:
            return  # the cursor has moved on meanwhile
        self._clear_form()
        answers = message.score["answers"] if message.score else {}
        zh = getattr(self.app, "locale", "en") == "zh_CN"
        for c in self.card.criteria:
            if c.key in answers:
                value = answers[c.key]
                text = (("是" if value else "否") if zh else ("yes" if value else "no")) if c.kind == "yesno" else str(value)
                self.query_one(f"#qa-v-{c.key}", Input).value = text
        if message.score:
            self.query_one("#qa-comment", Input).value = message.score["comment"] or ""
            self.form_call = message.call
        self._update_total()
        self.shown += 1

    @on(DataTable.RowSelected, "#qa-calls")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if self.card and self.card.criteria:
            self.query_one(f"#qa-v-{self.card.criteria[0].key}", Input).focus()

    # -- actions ----------------------------------------------------------------------------------------
    def _need_call(self) -> str | None:
        if self.call is None:
            self.app.push_screen(ErrorModal(self.L("qa_pick_call"), self.L("qa_hint_pick_call")))
        return self.call

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self._load()

    def action_toggle_unscored(self) -> None:
        self.unscored = not self.unscored
        self._load()

    def action_play(self) -> None:
        call = self._need_call()
        if call is not None:
            self._play(call)

    @work(thread=True, exclusive=True, exit_on_error=False, group="qa-act")
    def _play(self, call: str) -> None:
        try:
            result = self.run_on_backend(lambda ctx: play(ctx, call))
        except Exception as exc:  # noqa: BLE001
            self.post_message(QaFailed(exc))
            return
        self.post_message(QaDone(f"{call}: {self.L('qa_playing')} ({result['dial']})", reload=False))

    def action_save(self) -> None:
        call = self._need_call()
        if call is None:
            return
        answers = self.answers()
        comment = self.query_one("#qa-comment", Input).value
        self._save(call, answers, comment)

    @work(thread=True, exclusive=True, exit_on_error=False, group="qa-act")
    def _save(self, call: str, answers: dict[str, str], comment: str) -> None:
        try:
            result = self.run_on_backend(lambda ctx: score(ctx, call, answers, comment))
        except Exception as exc:  # noqa: BLE001
            self.post_message(QaFailed(exc))
            return
        self.post_message(QaDone(f"{call}: {self.L('qa_saved')} {result['total']:g}", reload=True))

    def on_qa_done(self, message: QaDone) -> None:
        self._say(message.text)
        if message.reload:
            self._clear_form()
            self.query_one("#qa-calls", DataTable).focus()
            self._load()

    def on_qa_failed(self, message: QaFailed) -> None:
        text, hint = err_text(message.error)
        self._say(text)
        self.app.push_screen(ErrorModal(text, hint))

    def _say(self, text: str) -> None:
        self.activity = text
        self.query_one("#qa-activity", Static).update(text)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def make_qa_screen(app: Any, *, run: Run | None = None) -> QaScreen:
    """The screen for the dashboard: service calls go through the app's backend (its database thread and
    signed-in supervisor); tests pass their own ``run``."""
    return QaScreen(run or app.backend.call)
