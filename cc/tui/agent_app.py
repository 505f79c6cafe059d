"""``cc agent``: the agent's console. The call and the customer on one screen, keyboard first.

Built by ``make_agent_app(config, ...)`` so the command, the web server and the tests build the same app.
Workers (``@work(thread=True, exclusive=True, exit_on_error=False)``) call the services through the
``Backend`` (the thread that owns the connection) and post messages; only message handlers touch
widgets. The live view polls an immutable ``Snapshot`` and re-arms its timer after the previous poll
finished. A service error becomes a modal with the message and the hint; the console keeps working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static, TabbedContent, TabPane

from cc.clock import Clock, SystemClock
from cc.domain.money import format_yuan
from cc.domain.timestamps import parse_iso
from cc.i18n import t
from cc.services.agent_console import PAUSE_REASONS, WRAP_CODES, Card, ControlResult, Progress, Quote, Snapshot
from cc.tui.agent_screens import (
    ChoiceModal,
    ConsoleSignIn,
    ControlModal,
    ErrorModal,
    FormModal,
    HelpScreen,
    Localized,
    SearchModal,
)
from cc.tui.agent_undo import UndoLog
from cc.tui.backend import Backend, ConsoleFactory
from cc.tui.common import Failed, LiveApp, drawing, show_text

CSS_PATH = Path(__file__).with_name("agent.tcss")


# -- messages (posted by workers, handled on the app's thread) ------------------------------------------
class SignedIn(Message):
    def __init__(self, view: dict, products: tuple) -> None:
        super().__init__()
        self.view, self.products = view, products


class Polled(Message):
    def __init__(self, snapshot: Snapshot | None) -> None:
        super().__init__()
        self.snapshot = snapshot


class CardLoaded(Message):
    def __init__(self, card: Card, pop: bool) -> None:
        super().__init__()
        self.card, self.pop = card, pop


class Quoted(Message):
    def __init__(self, quote: Quote, seq: int) -> None:
        super().__init__()
        self.quote, self.seq = quote, seq


class OrderProgress(Message):
    def __init__(self, progress: Progress, notice: str = "") -> None:
        super().__init__()
        self.progress, self.notice = progress, notice


class Done(Message):
    """A one-off action finished: a line for the activity log."""

    def __init__(self, text: str, refresh_card: bool = False) -> None:
        super().__init__()
        self.text, self.refresh_card = text, refresh_card


class Controlled(Message):
    """A call control went through."""

    def __init__(self, result: ControlResult, text: str) -> None:
        super().__init__()
        self.result, self.text = result, text


class SearchDone(Message):
    def __init__(self, found: tuple, modal: Any) -> None:
        super().__init__()
        self.found, self.modal = found, modal


@dataclass(frozen=True)
class FormState:
    """The order form's content: what undo restores."""

    lines: tuple[tuple[str, int], ...] = ()
    start: str = ""
    frequency: str = "daily"
    deliveries: str = "30"


class MainScreen(Screen, Localized):
    BINDINGS = [
        Binding("f1", "app.help", "help_key"),
        Binding("f2", "app.state('ready')", "ready_key"),
        Binding("f3", "app.pause", "pause_key"),
        Binding("f4", "app.state('away')", "away_key"),
        Binding("f5", "app.done", "done_key"),
        Binding("f6", "app.search", "search_key"),
        Binding("f7", "app.complaint", "complaint_key"),
        Binding("f8", "app.controls", "calls_key"),
        Binding("f9", "app.wrap_up", "wrap_up_key"),
        Binding("f10", "app.sign_out", "sign_out_key"),
        Binding("f12", "app.language", "language_key"),
        # priority: an Input of the order form would take ctrl+k (delete to the end) and ctrl+e (end)
        Binding("ctrl+k", "app.tab('tab-card')", "card_key", show=False, priority=True),
        Binding("ctrl+g", "app.tab('tab-order')", "order_key", show=False),
        Binding("ctrl+n", "app.add_line", "add_line_key"),
        Binding("ctrl+s", "app.submit_order", "submit_key"),
        Binding("ctrl+e", "app.amend_order", "amend_key", show=False, priority=True),
        Binding("ctrl+x", "app.cancel_order", "cancel_order_key", show=False),
        Binding("ctrl+z", "app.undo", "undo_key", show=False),
        Binding("ctrl+r", "app.remove_line", "remove_line_key", show=False),
        Binding("ctrl+o", "app.history", "history_key", show=False),
        Binding("ctrl+t", "app.toggle_dark", "theme_key", show=False),
    ]

    def __init__(self, products: tuple = ()) -> None:
        super().__init__(id="main")
        self.products = products or (("-", "-", 0, 0),)
        self.initial_tab = "tab-card"
        self.ready = False  # composed and mounted: handlers may query its widgets
        self._localize()

    def on_mount(self) -> None:
        self.ready = True
        self.app.main_ready()

    def compose(self) -> ComposeResult:
        L = self.L  # noqa: N806
        form = getattr(self.app, "form", None) or FormState()  # composed again on a language switch
        yield Static("", id="status-bar")
        yield Static(L("no_call"), id="call-banner")
        with TabbedContent(id="tabs", initial=self.initial_tab):
            with TabPane(L("customer"), id="tab-card"):
                yield VerticalScroll(Static(L("no_customer"), id="card"), id="card-scroll")
            with TabPane(L("order"), id="tab-order"):
                with VerticalScroll(id="order-form"):
                    with Horizontal(classes="form-row"):
                        yield Label(L("product"), classes="field-label")
                        yield Select([(f"{name} {format_yuan(price)}", sku) for sku, name, price, _ in self.products],
                                     id="product", allow_blank=False, compact=True)
                        yield Label(L("qty"), classes="field-label")
                        yield Input("1", id="qty", placeholder=L("qty"), type="integer", max_length=4, compact=True)
                    yield Static("", id="order-lines")
                    yield Static("", id="undo-hint")
                    with Horizontal(classes="form-row"):
                        yield Label(L("start"), classes="field-label")
                        yield Input(form.start, id="start", placeholder="YYYY-MM-DD", max_length=10, compact=True)
                        yield Select([(L("daily"), "daily"), (L("weekly"), "weekly")], id="frequency",
                                     value=form.frequency, allow_blank=False, compact=True)
                        yield Label(L("deliveries"), classes="field-label")
                        yield Input(form.deliveries, id="deliveries", placeholder=L("deliveries"), type="integer", max_length=3,
                                    compact=True)
                    yield Static("", id="quote")
                    yield Static("", id="progress")
            with TabPane(L("history"), id="tab-history"):
                yield VerticalScroll(Static("", id="history"))
        yield Static("", id="activity")
        yield Footer(compact=True, show_command_palette=False)


class AgentApp(LiveApp, App):
    CSS_PATH = CSS_PATH
    TITLE = "cc agent"
    ENABLE_COMMAND_PALETTE = False
    # The language: ctrl+l on every screen (a modal form too); F12 on the main and sign-in screens, in their
    # footers (an app binding of the same key would hide theirs).
    BINDINGS = [Binding("ctrl+q", "quit", "quit_key"),
                Binding("ctrl+l", "language", "language_key", show=False, priority=True)]
    SIGN_IN = ConsoleSignIn
    SIGNED_IN = SignedIn
    MAIN = MainScreen

    def __init__(self, factory: ConsoleFactory, *, locale: str = "zh_CN", clock: Clock | None = None,
                 user: str | None = None, poll_seconds: float = 0.15, dark: bool = True) -> None:
        super().__init__()
        self.backend = Backend(factory)
        self.locale = locale
        self.clock = clock or SystemClock()
        self.initial_user = user
        self.poll_seconds = poll_seconds
        self.theme = "textual-dark" if dark else "textual-light"
        self.snapshot: Snapshot | None = None
        self.card: Card | None = None
        self.call_key: int | None = None  # the waiting id of the call on screen
        self.products: tuple = ()
        self.form = FormState()
        self.undo = UndoLog()
        self.order_code: str | None = None
        self.quote_seq = 0
        self.quoted_seq = 0  # the last quote handled
        self.quote_drawn: tuple[int, float] = (0, 0.0)  # the last quote painted: (seq, monotonic time) (bench)
        self.pop_drawn_at: float | None = None  # monotonic time the last screen pop was drawn (bench)
        self.pop_waiting_id: int | None = None
        self.log_lines: list[str] = []
        self._polling = False
        self._previous_call_id = ""
        self.last_quote: Quote | None = None
        self.order_status = ""
        self.progress: Progress | None = None
        self.history_lines: tuple | None = None
        # Wrap-up at the end of every call: the call in progress (call id, caller), whether the ACD showed
        # the agent on it, and the calls already offered for wrap-up (each once).
        self.wrap_call: tuple[str, str] | None = None
        self._wrap_on_call = False
        self._wrapped: set[str] = set()

    def L(self, key: str) -> str:  # noqa: N802
        return t(key, self.locale)

    # -- start, sign in, sign out ------------------------------------------------------------------------
    def on_mount(self) -> None:
        from cc.tui.agent_screens import localize_bindings

        localize_bindings(self, self.locale)
        self.push_screen(ConsoleSignIn(self.initial_user))

    def _after_sign_in(self, console: Any) -> tuple:
        return console.products()

    def on_signed_in(self, message: SignedIn) -> None:
        self.products = message.products
        self.switch_screen(MainScreen(self.products))

    def main_ready(self) -> None:
        self._note(self.L("signed_in"))
        self._poll()

    def _signed_out(self) -> None:
        self.snapshot, self.card, self.call_key, self.order_code = None, None, None, None
        self.form = FormState()
        self.undo.clear()
        self.wrap_call, self._wrap_on_call = None, False

    # -- the live view (LiveApp polls; errors: LiveApp.on_failed) ----------------------------------------
    def _start_poll(self) -> None:
        known = self.call_key
        self._fetch(lambda c: c.snapshot(known), Polled)

    def on_polled(self, message: Polled) -> None:
        if not self.backend.signed_in:
            self._polling = False
            return
        snap = message.snapshot
        self.snapshot = snap
        if self._main() is not None:
            self._draw_status()
            call = snap.call if snap else None
            key = call.waiting_id if call else None
            if call is not None:
                self._previous_call_id = call.call_id
            ended = None
            if key is not None and key != self.call_key:
                self.call_key = key
                self._draw_banner()
                if snap.card is not None:
                    self.on_card_loaded(CardLoaded(snap.card, True))
                else:
                    self._load_card(call.caller, pop=True)
            elif key is None and self.call_key is not None:
                self.call_key = None
                self._draw_banner()
                if snap and snap.state == "wrap_up":
                    ended = (self._previous_call_id, self.card.phone if self.card else "")
            else:
                self._draw_banner()
            self._follow_call(snap, ended)
            if self.order_code:
                self._track(self.order_code)
        self._rearm()

    @drawing
    def _draw_status(self) -> None:
        main, snap = self._main(), self.snapshot
        if main is None or snap is None:
            return
        L = self.L  # noqa: N806
        secs = snap.seconds_in_state
        state = L(f"state_{snap.state}") + (f" ({L(snap.reason)})" if snap.reason else "")
        if snap.wrap_left is not None:
            state += f" {snap.wrap_left}s"
        queues = " ".join(f"{q}:{n}" for q, n in snap.waiting) or "-"
        modems = " ".join(f"{name}{'✓' if alive else '✗'}" for name, alive in snap.modems) or "-"
        agi = "-"
        if snap.agi_last_call:
            agi = self._local(snap.agi_last_call)[11:16]
        clock = self._local(snap.now)[11:19]
        main.query_one("#status-bar", Static).update(
            f" {snap.user} | {state} {secs // 60}:{secs % 60:02d} | {L('queue')} {queues} | "
            f"{L('sms')} {modems} | AGI {agi} | {clock}")

    def _local(self, stamp: str) -> str:
        from zoneinfo import ZoneInfo

        return parse_iso(stamp).astimezone(ZoneInfo(self.config_zone)).isoformat()

    config_zone = "Asia/Shanghai"

    @drawing
    def _draw_banner(self) -> None:
        main = self._main()
        if main is None:
            return
        call = self.snapshot.call if self.snapshot else None
        banner = main.query_one("#call-banner", Static)
        if call is None and self.wrap_call is not None and self.wrap_call[1]:  # a click-to-dial or picked-up call
            banner.update(f" {self.L('call_outbound')} {self.wrap_call[1]}")
            banner.add_class("ringing")
            return
        if call is None:
            banner.update(self.L("no_call"))
            banner.remove_class("ringing")
            return
        path = " > ".join(call.path) or "-"
        vip = " VIP" if call.vip else ""
        banner.update(f" {self.L('call_' + call.status)} {call.caller}{vip} | {self.L('service')} {call.service} "
                      f"| {self.L('waited')} {call.waited_seconds}s | IVR {path}")
        banner.add_class("ringing")

    # -- the customer card ---------------------------------------------------------------------------------
    def _load_card(self, phone: str, pop: bool = False) -> None:
        self._card_worker(phone, pop)

    @work(thread=True, exclusive=True, exit_on_error=False, group="card")
    def _card_worker(self, phone: str, pop: bool) -> None:
        try:
            card = self.backend.call(lambda c: c.card(phone))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "card"))
            return
        self.post_message(CardLoaded(card, pop))

    @drawing
    def on_card_loaded(self, message: CardLoaded) -> None:
        card = self.card = message.card
        main = self._main()
        if main is None:
            return
        main.query_one("#card", Static).update(self._card_text(card))
        if message.pop:
            self.order_code = None
            self.form = FormState()
            self.undo.clear()
            self._restore_form(self.form)
            self.progress = None
            self._draw_progress()
            main.query_one(TabbedContent).active = "tab-card"
            waiting_id = self.call_key

            def drawn() -> None:
                self.pop_drawn_at = time.monotonic()
                self.pop_waiting_id = waiting_id

            self.call_after_refresh(drawn)
            if not card.known:
                self._new_customer(card.phone)
        self._quote()

    def _card_text(self, card: Card) -> str:
        L = self.L  # noqa: N806
        if not card.known:
            return f"{card.phone}\n{L('unknown_caller')}"
        tags = []
        if card.vip:
            tags.append("[b]VIP[/b]")
        if card.blacklisted:
            tags.append(f"[reverse]{L('blacklisted')}[/reverse]")
        tags += [tg for tg in card.tags if tg not in ("vip", "blacklist")]
        out = [f"[b]{card.name}[/b]  {card.phone}  {' '.join(tags)}",
               f"{L('address')}: {card.address or '-'}", f"{L('balance')}: {format_yuan(card.balance_fen)}",
               f"[b]{L('active_orders')}[/b]"]
        out += [f"  {o.code} {L(o.status)} {o.items} {o.deliveries_done}/{o.deliveries} {format_yuan(o.total_fen)}"
                for o in card.orders] or ["  -"]
        out.append(f"[b]{L('complaints_open')}[/b]")
        out += [f"  #{cid} {cat} {L(status)} {text[:40]}" for cid, cat, status, text in card.complaints] or ["  -"]
        out.append(f"[b]{L('recent_calls')}[/b]")
        out += [f"  {self._local(at)[:16].replace('T', ' ')} {result}" for at, result in card.calls] or ["  -"]
        out.append(f"[b]{L('recent_sms')}[/b]")
        out += [f"  {'>' if d == 'out' else '<'} {text[:50]}" for at, d, text in card.sms] or ["  -"]
        return "\n".join(out)

    def _new_customer(self, phone: str) -> None:
        L = self.L  # noqa: N806

        def done(values: dict | None) -> None:
            if values:
                self._act(lambda c: c.add_customer(values["phone"], values["name"], values["address"]),
                          L("customer_added"), refresh_card=True)

        self.push_screen(FormModal("new_customer", [("phone", "phone", phone), ("name", "name", ""),
                                                    ("address", "address", "")], modal_id="new-customer"), done)

    # -- one-off actions ------------------------------------------------------------------------------
    def _act(self, fn: Any, text: str, refresh_card: bool = False) -> None:
        self._act_worker(fn, text, refresh_card)

    @work(thread=True, exclusive=False, exit_on_error=False, group="act")
    def _act_worker(self, fn: Any, text: str, refresh_card: bool) -> None:
        try:
            result = self.backend.call(fn)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "act"))
            return
        if isinstance(result, Progress):
            self.post_message(OrderProgress(result, text))
            return
        if isinstance(result, ControlResult):
            self.post_message(Controlled(result, text))
            return
        self.post_message(Done(text, refresh_card))

    def on_done(self, message: Done) -> None:
        self._note(message.text)
        if message.refresh_card and self.card is not None:
            self._load_card(self.card.phone)

    @drawing
    def _note(self, text: str) -> None:
        main = self._main()
        stamp = self._local(self.snapshot.now)[11:19] if self.snapshot else ""
        self.log_lines = (self.log_lines + [f"{stamp} {text}"])[-2:]
        if main is not None:
            main.query_one("#activity", Static).update("\n".join(self.log_lines))

    def action_tab(self, tab: str) -> None:
        main = self._main()
        if main is not None:
            main.query_one(TabbedContent).active = tab
            # Focus moves into the tab shown (a field still focused in a hidden tab would bring its tab back).
            main.query_one({"tab-order": "#product", "tab-card": "#card-scroll"}.get(tab, f"#{tab} VerticalScroll")).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_state(self, command: str) -> None:
        self._act(lambda c: c.change_state(command), self.L(f"now_{command}"))

    def action_pause(self) -> None:
        def done(reason: str | None) -> None:
            if reason:
                self._act(lambda c: c.change_state("pause", reason), f"{self.L('now_pause')} ({self.L(reason)})")

        self.push_screen(ChoiceModal("pause_reason", [(r, r) for r in PAUSE_REASONS], modal_id="pause-modal",
                                     keys=True), done)

    def action_done(self) -> None:
        self._act(lambda c: c.done_wrapping(), self.L("now_ready"))

    def _follow_call(self, snap: Snapshot | None, ended: tuple[str, str] | None) -> None:
        """Offer the wrap-up form once at the end of every call the agent was on: an ACD call (the agent
        leaves on_call), a click-to-dial or picked-up call the ACD showed them on."""
        if snap is None:
            return
        call = snap.call
        if call is not None and (call.status == "connected" or snap.state == "on_call"):
            self.wrap_call, self._wrap_on_call = (call.call_id, call.caller), True
        elif snap.state == "on_call" and self.wrap_call is not None:
            self._wrap_on_call = True
        if self.wrap_call is not None and self._wrap_on_call and snap.state not in ("on_call", "ringing"):
            self._prompt_wrap(*self.wrap_call)
        elif ended is not None:
            self._prompt_wrap(*ended)

    def _prompt_wrap(self, call_id: str, caller: str) -> None:
        """The wrap-up form for a call that just ended (once per call)."""
        self.wrap_call, self._wrap_on_call = None, False
        self._draw_banner()
        if call_id and call_id in self._wrapped:
            return
        if any(s.id == "wrap-modal" for s in self.screen_stack):
            return
        if call_id:
            self._wrapped.add(call_id)
        self._wrap_form(call_id, caller)

    def action_wrap_up(self) -> None:
        if any(s.id == "wrap-modal" for s in self.screen_stack):
            return
        call_id, caller = self.wrap_call or (self._last_call_id(), self.card.phone if self.card else "")
        self.wrap_call, self._wrap_on_call = None, False
        if call_id:
            self._wrapped.add(call_id)
        self._draw_banner()
        self._wrap_form(call_id, caller)

    def _wrap_form(self, call_id: str, caller: str) -> None:
        def done(result: tuple | None) -> None:
            if result:
                code, notes = result
                self._act(lambda c: c.wrap_up(call_id, caller, code, notes), f"{self.L('wrapped_up')}: {self.L(code)}")

        self.push_screen(ChoiceModal("wrap_up_code", [(c, c) for c in WRAP_CODES], text_label="notes",
                                     modal_id="wrap-modal", keys=True), done)

    def _last_call_id(self) -> str:
        call = self.snapshot.call if self.snapshot else None
        return call.call_id if call else self._previous_call_id

    async def action_language(self) -> None:
        """zh_CN <-> en at once: every screen composed again in the other language; what was typed stays."""
        from cc.tui.agent_screens import Localized, localize_bindings, relabel

        self.locale = "en" if self.locale == "zh_CN" else "zh_CN"
        localize_bindings(self, self.locale)
        for screen in list(self.screen_stack):
            if not isinstance(screen, Localized) or not screen.is_mounted:
                continue
            if isinstance(screen, MainScreen):
                screen.initial_tab = screen.query_one(TabbedContent).active or "tab-card"
            await relabel(screen, self.locale)
            if isinstance(screen, MainScreen):
                self._redraw_main()
        self.refresh_bindings()
        self._note(self.L("language_now"))

    @drawing
    def _redraw_main(self) -> None:
        """The main screen's content (after it was composed again)."""
        self._draw_status()
        self._draw_banner()
        main = self._main()
        if main is not None and self.card is not None:
            main.query_one("#card", Static).update(self._card_text(self.card))
        self._draw_lines()
        self._draw_quote()
        self._draw_progress()
        if self.history_lines is not None:
            self._show_history(self.history_lines, switch=False)
        if main is not None:
            main.query_one("#activity", Static).update("\n".join(self.log_lines))

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_search(self) -> None:
        def done(result: dict | None) -> None:
            if result and result.get("phone"):
                self._load_card(result["phone"])
                if result["kind"] == "order":
                    self.order_code = result["key"]
                    self._track(result["key"])

        self.push_screen(SearchModal(), done)

    def run_search(self, text: str, modal: Any) -> None:
        self._search_worker(text, modal)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def _search_worker(self, text: str, modal: Any) -> None:
        try:
            found = self.backend.call(lambda c: c.search(text))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "search"))
            return
        self.post_message(SearchDone(found, modal))

    def on_search_done(self, message: SearchDone) -> None:
        if message.modal.is_attached:
            message.modal.show_results(message.found)

    def action_history(self) -> None:
        if self.card is None:
            return
        phone = self.card.phone
        self._history_worker(phone)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def _history_worker(self, phone: str) -> None:
        try:
            lines = self.backend.call(lambda c: c.order_history(phone))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "history"))
            return
        self.call_from_thread(self._show_history, lines)

    @drawing
    def _show_history(self, lines: tuple, switch: bool = True) -> None:
        self.history_lines = lines
        main = self._main()
        if main is not None:
            main.query_one("#history", Static).update(
                "\n".join(f"{o.code} {self.L(o.status)} {o.start_date} {o.items} {format_yuan(o.total_fen)}"
                          for o in lines) or "-")
            if switch:
                self.action_tab("tab-history")

    def action_complaint(self) -> None:
        if self.card is None or not self.card.known:
            self.push_screen(ErrorModal("no_customer", "hint_pick_customer", keys=True))
            return
        phone, call_id, order = self.card.phone, self._last_call_id(), self.order_code or ""

        def done(values: dict | None) -> None:
            if not values:
                return
            if values.get("add_to", "").strip():
                number = values["add_to"].strip().lstrip("#")
                if not number.isdigit():
                    self.push_screen(ErrorModal("bad_complaint_number", "hint_complaint_number", keys=True))
                    return
                cid = int(number)
                self._act(lambda c: c.note_complaint(cid, values["text"]), f"{self.L('complaint')} #{cid}",
                          refresh_card=True)
            else:
                self._act(lambda c: c.open_complaint(phone, values["category"], values["text"],
                                                     priority=values.get("priority") or "normal",
                                                     order_code=values.get("order") or None, call_id=call_id or None),
                          self.L("complaint_opened"), refresh_card=True)

        try:
            categories = self.backend.call(lambda c: c.complaint_categories(), timeout=5.0)
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.on_failed(Failed(exc, "complaint"))
            return
        self.push_screen(FormModal("complaint", [
            ("text", "text", ""), ("order", "order", order), ("priority", "priority", "normal"),
            ("add_to", "add_to_complaint", "")],
            select=("category", "category", [(c, c) for c in categories]), modal_id="complaint-modal"), done)

    def action_controls(self) -> None:
        number = self.card.phone if self.card else ""

        def done(result: tuple | None) -> None:
            if not result:
                return
            action, target = result
            self._act(lambda c: c.call_control(action, target, number), self.L(f"ctl_{action}"))

        self.push_screen(ControlModal(number), done)

    def on_controlled(self, message: Controlled) -> None:
        r = message.result
        self._note(f"{message.text} {r.target}".strip())
        if r.card is not None:  # a colleague's call picked up: its caller on screen
            self.on_card_loaded(CardLoaded(r.card, True))
        if r.action in ("dial", "pickup") and r.call_id:
            self.wrap_call, self._wrap_on_call = (r.call_id, r.caller), False
            self._draw_banner()
        if r.ends_call:
            self._prompt_wrap(*(self.wrap_call or (self._last_call_id(), self.card.phone if self.card else "")))

    # -- order entry ---------------------------------------------------------------------------------------
    # ``self.form`` is the order form's content; every action on it (an item added, removed or its quantity
    # changed, a plan field typed in) goes through ``_change_form`` and leaves an undo step. The widgets
    # echo a restored value back as a change event: equal to the model, it is no action.
    def _read_form(self) -> FormState:
        main = self._main()
        if main is None:
            return self.form
        return FormState(self.form.lines, main.query_one("#start", Input).value,
                         str(main.query_one("#frequency", Select).value), main.query_one("#deliveries", Input).value)

    @drawing
    def _restore_form(self, state: FormState) -> None:
        main = self._main()
        if main is None:
            return
        main.query_one("#start", Input).value = state.start
        main.query_one("#frequency", Select).value = state.frequency
        main.query_one("#deliveries", Input).value = state.deliveries
        self._draw_lines()

    def _change_form(self, state: FormState, key: str, merge: str = "", /, **values: str) -> None:
        self.undo.record(self.form, key, merge, **values)
        self.form = state
        self._draw_lines()
        self._quote()

    def _product_name(self, sku: str) -> str:
        return next((name for s, name, _, _ in self.products if s == sku), sku)

    @drawing
    def _draw_lines(self) -> None:
        main = self._main()
        if main is None:
            return
        text = ", ".join(f"{self._product_name(sku)} x{qty}" for sku, qty in self.form.lines)
        show_text(main.query_one("#order-lines", Static), f"{self.L('items')}: {text or '-'}")
        hint = self.undo.hint(self.locale)
        widget = main.query_one("#undo-hint", Static)
        show_text(widget, hint)
        if widget.display != bool(hint):
            widget.display = bool(hint)

    def action_add_line(self) -> None:
        """ctrl+n: the picked product at the typed quantity (a new item, a new quantity; 0 removes it)."""
        main = self._main()
        if main is None:
            return
        if main.query_one(TabbedContent).active != "tab-order":
            self.action_tab("tab-order")
            return
        sku = main.query_one("#product", Select).value
        qty_text = main.query_one("#qty", Input).value or "0"
        if sku is Select.BLANK or not isinstance(sku, str):
            self.push_screen(ErrorModal("pick_product", "hint_pick_product", keys=True))
            return
        self._set_line(sku, int(qty_text) if qty_text.isdigit() else 0)

    def action_remove_line(self) -> None:
        """ctrl+r: the picked product out of the order."""
        main = self._main()
        if main is None:
            return
        sku = main.query_one("#product", Select).value
        if isinstance(sku, str):
            self._set_line(sku, 0)

    def _set_line(self, sku: str, qty: int) -> None:
        lines = dict(self.form.lines)
        old = lines.get(sku, 0)
        if qty == old:
            return
        item = self._product_name(sku)
        if qty <= 0:
            lines.pop(sku)
            key, values = "undo_remove", {"item": f"{item} x{old}"}
        elif old:
            lines[sku] = qty
            key, values = "undo_qty", {"item": item, "old": str(old), "new": str(qty)}
        else:
            lines[sku] = qty
            key, values = "undo_add", {"item": f"{item} x{qty}"}
        self._change_form(replace(self.form, lines=tuple(lines.items())), key, **values)

    def action_undo(self) -> None:
        step = self.undo.pop()
        if step is None:
            self._note(self.L("nothing_to_undo"))
            return
        self.form = step.before
        self._restore_form(self.form)
        self._note(f"{self.L('undone')}: {step.text(self.locale)}")
        self._quote()

    def on_input_changed(self, event: Input.Changed) -> None:
        field = event.input.id
        if field in ("start", "deliveries") and getattr(self.form, field) != event.value:
            self._change_form(replace(self.form, **{field: event.value}), "undo_field", field, field=field,
                              old=getattr(self.form, field), new=event.value)
        elif field == "qty":
            self._quote()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input.id in ("start", "deliveries"):
            self.undo.stop_merging()

    def on_select_changed(self, event: Select.Changed) -> None:
        value = str(event.value)
        if event.select.id == "frequency" and value != self.form.frequency and event.value is not Select.BLANK:
            self._change_form(replace(self.form, frequency=value), "undo_field", "frequency", field="frequency",
                              old=self.form.frequency, new=value)

    def _plan_values(self) -> tuple[date | None, str, int] | None:
        state = self._read_form()
        try:
            start = date.fromisoformat(state.start.strip()) if state.start.strip() else None
            deliveries = int(state.deliveries)
        except ValueError:
            return None
        return start, state.frequency, deliveries

    def _quote(self) -> None:
        if self.card is None or self._main() is None:
            return
        plan = self._plan_values()
        main = self._main()
        if plan is None:
            show_text(main.query_one("#quote", Static), self.L("bad_plan"))
            return
        self.quote_seq += 1
        self._quote_worker(self.card.phone if self.card.known else "", list(self.form.lines), *plan, self.quote_seq)

    @work(thread=True, exclusive=True, exit_on_error=False, group="quote")
    def _quote_worker(self, phone: str, lines: list, start: date | None, frequency: str, deliveries: int,
                      seq: int) -> None:
        try:
            quote = self.backend.call(lambda c: c.quote(phone, lines, start, frequency, deliveries))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "quote"))
            return
        self.post_message(Quoted(quote, seq))

    @drawing
    def on_quoted(self, message: Quoted) -> None:
        main = self._main()
        if main is None or message.seq != self.quote_seq:
            return
        self.quoted_seq = message.seq
        self.last_quote = message.quote
        self._draw_quote()

        def drawn() -> None:
            self.quote_drawn = (message.seq, time.monotonic())

        self.call_after_refresh(drawn)

    @drawing
    def _draw_quote(self) -> None:
        main, q = self._main(), self.last_quote
        if main is None or q is None:
            return
        L = self.L  # noqa: N806
        text = f"{L('total')}: {format_yuan(q.total_fen)}  {L('balance')}: {format_yuan(q.balance_fen)}"
        if not q.enough_balance and q.total_fen:
            text += f"  [b]{L('balance_short')}[/b]"
        if q.problems:
            text += "\n" + "\n".join(q.problems)
        show_text(main.query_one("#quote", Static), text)

    def _order_args(self) -> tuple | None:
        plan = self._plan_values()
        if plan is None:
            self.push_screen(ErrorModal("bad_plan", "hint_plan", keys=True))
            return None
        return plan

    def action_submit_order(self) -> None:
        if self.card is None or not self.card.known:
            self.push_screen(ErrorModal("no_customer", "hint_pick_customer", keys=True))
            return
        plan = self._order_args()
        if plan is None:
            return
        phone, lines, call_id = self.card.phone, list(self.form.lines), self._last_call_id() or None
        if self.order_code:
            self.action_amend_order()
            return
        self._act(lambda c: c.submit_order(phone, lines, *plan, call_id=call_id), self.L("order_submitted"))

    def action_amend_order(self) -> None:
        plan = self._order_args()
        if plan is None or not self.order_code:
            return
        code, lines = self.order_code, list(self.form.lines)
        self._act(lambda c: c.amend_order(code, lines, *plan), self.L("order_amended"))

    def action_cancel_order(self) -> None:
        if not self.order_code:
            return
        code = self.order_code
        self._act(lambda c: c.cancel_order(code), self.L("order_cancelled"))

    def _track(self, code: str) -> None:
        self._track_worker(code)

    @work(thread=True, exclusive=True, exit_on_error=False, group="track")
    def _track_worker(self, code: str) -> None:
        try:
            progress = self.backend.call(lambda c: c.progress(code))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "track"))
            return
        self.post_message(OrderProgress(progress))

    @drawing
    def on_order_progress(self, message: OrderProgress) -> None:
        p = self.progress = message.progress
        self.order_code = p.code
        self.order_status = p.status
        if message.notice:
            self._note(f"{message.notice}: {p.code}")
        self._draw_progress()

    @drawing
    def _draw_progress(self) -> None:
        main, p = self._main(), self.progress
        if main is None:
            return
        if p is None:
            main.query_one("#progress", Static).update("")
            return
        steps = "  ".join(f"{'[b]✓[/b]' if done else '·'} {self.L('step_' + name)}" for name, done in p.steps)
        edit = f"  ({self.L('editable')})" if p.editable else ""
        main.query_one("#progress", Static).update(f"{p.code} {self.L(p.status)}{edit}\n{steps}")


def make_agent_app(config: Any, *, factory: ConsoleFactory | None = None, clock: Clock | None = None,
                   user: str | None = None, locale: str | None = None, poll_seconds: float = 0.15,
                   dark: bool = True) -> AgentApp:
    """The console, from the config (the command) or with a given console factory (tests, bench)."""
    from cc.tui.backend import console_factory

    factory = factory or console_factory(config, clock)
    app = AgentApp(factory, locale=locale or config.resolved_locale(), clock=clock, user=user,
                   poll_seconds=poll_seconds, dark=dark)
    app.config_zone = config.timezone
    return app
