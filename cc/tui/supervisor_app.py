"""``cc supervisor``: the supervisor's live wallboard and actions (issue 7).

Built by ``make_supervisor_app(config, ...)`` so the command, ``cc demo``, the bench and the tests build the
same app. The model is the agent console (cc/tui/agent_app.py): one backend thread owns the SQLite
connection (``cc.tui.backend.Backend``, driving a ``SupervisorService`` instead of a ``ConsoleService``);
workers call it and post messages; only handlers touch widgets. The wallboard polls an immutable
``Wallboard`` snapshot and re-arms its timer only after the previous poll was drawn, so refreshes never
overlap; tables are updated cell by cell (rows rebuilt only when the set of rows changes), so nothing
flickers. A service error becomes a modal with the message and the hint; the dashboard keeps refreshing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from cc.clock import Clock
from cc.domain.wallboard import AgentBoard, Wallboard, WaitingCaller
from cc.i18n import t
from cc.services.agent_console import PAUSE_REASONS
from cc.tui.agent_screens import ChoiceModal
from cc.tui.backend import Backend, thread_services
from cc.tui.common import ErrorModal, Failed, LiveApp, Localized, drawing, localize_bindings
from cc.tui.supervisor_charts import columns, hbars
from cc.tui.supervisor_screens import ConfirmModal, SupervisorHelp, SupervisorSignIn
from cc.tui.supervisor_table import LiveTable

CSS_PATHS = [Path(__file__).with_name("agent.tcss"), Path(__file__).with_name("supervisor.tcss")]
SupervisorFactory = Callable[[str | None], Any]  # user (None: before sign-in) -> SupervisorService


# -- messages (posted by workers, handled on the app's thread) ------------------------------------------
class SignedIn(Message):
    def __init__(self, account: dict, queues: tuple[str, ...]) -> None:
        super().__init__()
        self.account, self.queues = account, queues


class Polled(Message):
    def __init__(self, board: Wallboard, started: float) -> None:
        super().__init__()
        self.board, self.started = board, started
        self.fetched = time.monotonic()  # the snapshot is back from the database thread


class Done(Message):
    """An action finished: a line for the activity bar."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


# -- formatting -----------------------------------------------------------------------------------------
def dur(seconds: float | None) -> str:
    """12:05 (minutes:seconds), 1:02:05 past an hour; '-' when unknown."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _set(widget: Static, content: str | Text) -> None:
    """Update a Static only when its content changed, and ask for a layout only when its number of lines
    changed (a layout repaints the whole screen: the costliest part of a frame)."""
    text = content.plain if isinstance(content, Text) else content
    before = getattr(widget, "_sv_text", None)
    if text == before:
        return
    lines_before = None if before is None else before.count("\n")
    widget.update(content, layout=lines_before != text.count("\n"))
    widget._sv_text = text  # type: ignore[attr-defined]


class WallboardScreen(Screen, Localized):
    BINDINGS = [
        Binding("f1", "app.help", "help_key"),
        Binding("l", "app.spy('listen')", "sv_listen_key"),
        Binding("w", "app.spy('whisper')", "sv_whisper_key"),
        Binding("b", "app.spy('barge')", "sv_barge_key"),
        Binding("r", "app.force('ready')", "sv_ready_key"),
        Binding("p", "app.force('pause')", "sv_pause_key"),
        Binding("o", "app.force('logout')", "sv_logout_key"),
        Binding("e", "app.expert", "sv_expert_key"),
        Binding("plus", "app.priority", "sv_priority_key"),
        Binding("m", "app.move", "sv_move_key"),
        Binding("v", "app.voicemail", "sv_voicemail_key"),
        Binding("q", "app.qa", "sv_qa_key"),
        Binding("1", "app.tab('tab-agents')", "sv_agents", show=False),
        Binding("2", "app.tab('tab-callers')", "sv_callers", show=False),
        Binding("3", "app.tab('tab-charts')", "sv_charts", show=False),
        Binding("4", "app.tab('tab-health')", "sv_health", show=False),
        Binding("f10", "app.sign_out", "sign_out_key", show=False),
        Binding("ctrl+t", "app.toggle_dark", "theme_key", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="wallboard")
        self.ready = False
        self._localize()

    def compose(self) -> ComposeResult:
        L = self.L  # noqa: N806
        yield Static("", id="sv-status")
        yield Static(L("sv_no_alerts"), id="sv-alerts")
        yield LiveTable([L("sv_queue"), L("sv_waiting"), L("sv_longest"), L("sv_sl"), L("sv_asa"), L("sv_aht"),
                         L("sv_offered"), L("sv_answered"), L("sv_abandoned"), L("sv_ready_serving")],
                        id="sv-queues", cursor=False)
        with TabbedContent(id="sv-tabs", initial="tab-agents"):
            with TabPane(L("sv_agents"), id="tab-agents"):
                yield LiveTable([L("sv_agent"), L("status"), L("sv_in_state"), L("sv_call"), L("sv_queue"),
                                 L("sv_calls_today"), L("sv_orders_today"), L("sv_heartbeat")], id="sv-agents")
            with TabPane(L("sv_callers"), id="tab-callers"):
                yield LiveTable([L("sv_queue"), L("phone"), L("customer"), L("priority"), L("sv_position"),
                                 L("waited"), L("status")], id="sv-callers")
            with TabPane(L("sv_charts"), id="tab-charts"):
                yield VerticalScroll(Static("", id="sv-charts"))
            with TabPane(L("sv_health"), id="tab-health"):
                yield VerticalScroll(Static("", id="sv-health"))
        yield Static("", id="sv-activity")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.ready = True
        self.query_one("#sv-agents", LiveTable).focus()  # arrows move the agent cursor from the start
        self.app.wallboard_ready()


class SupervisorApp(LiveApp, App):
    CSS_PATH = CSS_PATHS
    TITLE = "cc supervisor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "quit_key")]
    SIGN_IN = SupervisorSignIn
    SIGNED_IN = SignedIn
    MAIN = WallboardScreen

    def __init__(self, factory: SupervisorFactory, *, locale: str = "zh_CN", user: str | None = None,
                 password: str | None = None, poll_seconds: float = 1.0, dark: bool = True,
                 zone: str = "Asia/Shanghai", expert_group: str = "expert", stats_keep: int = 2000) -> None:
        super().__init__()
        from zoneinfo import ZoneInfo

        self.backend = Backend(factory)
        self.locale = locale
        self.initial_user = user
        self.initial_password = password
        self.poll_seconds = poll_seconds
        self.theme = "textual-dark" if dark else "textual-light"
        self.zone = ZoneInfo(zone)
        self.expert_group = expert_group
        self.account: dict | None = None
        self.queue_names: tuple[str, ...] = ()
        self.board: Wallboard | None = None
        self._polling = False
        self.polls = 0  # snapshots drawn
        self.poll_starts: deque[float] = deque(maxlen=stats_keep)  # monotonic, when each poll began (tests)
        # A frame: the UI thread's time from receiving a snapshot to the screen painted with it (widgets
        # updated + compositor). The database's part is apart: query_ms (its SQL) and cycle_ms (poll start ->
        # painted: the query, assembling the snapshot, the hand-over to the UI thread and the frame).
        self.frame_ms: deque[float] = deque(maxlen=stats_keep)
        self.cycle_ms: deque[float] = deque(maxlen=stats_keep)
        self.query_ms: deque[float] = deque(maxlen=stats_keep)
        self.draw_ms: deque[float] = deque(maxlen=stats_keep)  # time the handler spent updating widgets
        # per frame (ms): snapshot fetched, waiting for the UI thread, widgets updated, screen painted
        self.frame_parts: deque[tuple[float, float, float, float]] = deque(maxlen=stats_keep)
        self.activity: list[str] = []
        self._labels: dict[str, str] = {}  # queue name -> label, from the last snapshot
        self._tones: tuple[str, dict[str, str]] = ("", {})  # (theme, its colours)
        self.freeze_heap: bool | None = None  # gc.freeze() after sign-in; None: when not headless (not in tests)

    def L(self, key: str) -> str:  # noqa: N802
        return t(key, self.locale)

    # -- start, sign in, sign out ------------------------------------------------------------------------
    def on_mount(self) -> None:
        localize_bindings(self, self.locale)
        self.push_screen(SupervisorSignIn(self.initial_user))
        if self.initial_user and self.initial_password:
            self.sign_in(self.initial_user, self.initial_password)

    def _after_sign_in(self, service: Any) -> tuple[str, ...]:
        return service.queue_names()

    def on_signed_in(self, message: SignedIn) -> None:
        self.account, self.queue_names = message.account, message.queues
        self.switch_screen(WallboardScreen())

    def wallboard_ready(self) -> None:
        if self.freeze_heap if self.freeze_heap is not None else not self.is_headless:
            import gc

            # What exists once signed in (Textual, the modules, the screen) lives as long as the app: out of
            # the collector's sight, a full collection scans only the refreshes' objects (it scanned all of
            # it: 80-150 ms pauses, the frames over 100 ms at 200 agents / 500 callers; now 15-25 ms).
            gc.collect()
            gc.freeze()
        self._poll()

    def _signed_out(self) -> None:
        self.board, self.account = None, None

    # -- the live view (LiveApp polls; errors: LiveApp.on_failed) ----------------------------------------
    def _start_poll(self) -> None:
        started = time.monotonic()
        self.poll_starts.append(started)
        self._fetch(lambda s: s.snapshot(), lambda board: Polled(board, started))

    def on_polled(self, message: Polled) -> None:
        if not self.backend.signed_in:
            self._polling = False
            return
        self.board = message.board
        began = time.monotonic()
        if self._main() is not None:
            self._draw()
        drawn = time.monotonic()
        self.draw_ms.append((drawn - began) * 1000)
        started, fetched = message.started, message.fetched
        self.call_after_refresh(lambda: self._painted(started, fetched, began, drawn))

    def _painted(self, started: float, fetched: float, began: float, drawn: float) -> None:
        now = time.monotonic()
        self.frame_ms.append((now - began) * 1000)
        self.cycle_ms.append((now - started) * 1000)
        self.query_ms.append(getattr(self.board, "query_ms", 0.0))
        self.frame_parts.append(((fetched - started) * 1000, (began - fetched) * 1000, (drawn - began) * 1000,
                                 (now - drawn) * 1000))
        self.polls += 1
        self._rearm()

    @drawing
    def _draw(self) -> None:
        main, board = self._main(), self.board
        if main is None or board is None:
            return
        self._labels = {q.name: q.label or q.name for q in board.queues}
        self._draw_status(main, board)
        self._draw_alerts(main, board)
        self._draw_queues(main, board)
        tabs = main.query_one("#sv-tabs", TabbedContent).active  # hidden tabs are drawn when shown
        if tabs == "tab-agents":
            self._draw_agents(main, board)
        elif tabs == "tab-callers":
            self._draw_callers(main, board)
        elif tabs == "tab-charts":
            self._draw_charts(main, board)
        elif tabs == "tab-health":
            self._draw_health(main, board)

    def _tone(self, name: str, *, bold: bool = True) -> str:
        """A Rich style from the theme's colour ``name`` (error, primary, accent...): readable in the light
        and the dark theme alike."""
        if self._tones[0] != self.theme:
            self._tones = (self.theme, self.get_css_variables())  # 2 ms: once per theme, not per row
        color = self._tones[1].get(name, "red")
        return f"bold {color}" if bold else color

    def _local(self, at: str) -> str:
        from datetime import datetime

        try:
            return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(self.zone).strftime("%H:%M:%S")
        except ValueError:
            return at

    def _draw_status(self, main: WallboardScreen, board: Wallboard) -> None:
        L = self.L  # noqa: N806
        agi = "?" if not board.agi.known else ("✓" if board.agi.up else "✗")
        modems = board.sms.modems
        up = sum(1 for m in modems if not m.down)
        user = (self.account or {}).get("name", "")
        parts = [self._local(board.at), f"{L('sv_waiting')} {board.waiting_total}",
                 f"{L('sv_longest')} {dur(board.longest_wait_seconds)}", f"{L('sv_sl')} {pct(board.totals.service_level)}",
                 f"AGI {agi}", f"{L('sv_modems')} {up}/{len(modems)}", f"{L('sv_dairy_short')} {board.dairy.backlog}"]
        if main.size.width >= 100:
            parts[:0] = [L("supervisor_title"), user]
        _set(main.query_one("#sv-status", Static), " · ".join(parts))

    def alert_text(self, alert: Any) -> str:
        """One line per alert in the dashboard's language, built from the alert's kind and values."""
        L = self.L  # noqa: N806
        value, limit = alert.value, alert.limit
        if alert.kind == "service_level":
            return L("alert_service_level").format(subject=self._labels.get(alert.subject, alert.subject), value=pct(value), limit=pct(limit))
        if alert.kind == "long_wait":
            return L("alert_long_wait").format(subject=alert.subject, value=dur(value))
        if alert.kind in ("modem_down", "agi_down", "agent_stale"):
            return L(f"alert_{alert.kind}").format(subject=alert.subject, value=dur(value))
        if alert.kind == "agent_stuck":
            return L("alert_agent_stuck").format(subject=alert.subject, value=dur(value), limit=dur(limit))
        return alert.message

    def _draw_alerts(self, main: WallboardScreen, board: Wallboard) -> None:
        widget = main.query_one("#sv-alerts", Static)
        alerts = board.alerts
        critical = any(a.severity == "critical" for a in alerts)
        widget.set_class(critical, "critical")
        widget.set_class(bool(alerts) and not critical, "warning")
        if not alerts:
            _set(widget, self.L("sv_no_alerts"))
            return
        shown = alerts[:3]
        lines = [("‼ " if a.severity == "critical" else "! ") + self.alert_text(a) for a in shown]
        if len(alerts) > len(shown):
            lines[-1] += f"  (+{len(alerts) - len(shown)})"
        _set(widget, "\n".join(lines))

    def _draw_queues(self, main: WallboardScreen, board: Wallboard) -> None:
        rows = []
        for q in (*board.queues, None):
            if q is None:
                f, name, waiting, longest, ready = board.totals, self.L("sv_all"), board.waiting_total, \
                    board.longest_wait_seconds, ""
            else:
                f, name, waiting, longest = q.today, q.label or q.name, q.waiting, q.longest_wait_seconds
                ready = f"{q.agents_ready}/{q.agents_serving}"
            sl = Text(pct(f.service_level))
            if f.service_level is not None and f.service_level < board.service_level_target:
                sl.stylize(self._tone("error"))
            rows.append((q.name if q else "*", (name, str(waiting), dur(longest), sl, dur(f.asa_seconds),
                                                dur(f.aht_seconds), str(f.offered), str(f.answered),
                                                str(f.abandoned), ready)))
        main.query_one("#sv-queues", LiveTable).set_rows(rows)

    def _agent_cells(self, a: AgentBoard) -> tuple:
        L = self.L  # noqa: N806
        state = L(f"state_{a.state}") + (f" ({L(a.reason)})" if a.reason else "")
        if a.group == self.expert_group:
            state += " ★"
        call = " ".join(x for x in (a.customer or "", a.caller or "") if x) or "-"
        heartbeat: str | Text = dur(a.heartbeat_age_seconds)
        if a.stale:
            heartbeat = Text(f"⚠ {dur(a.heartbeat_age_seconds)}", style=self._tone("error"))
        queue = self._labels.get(a.queue or "", a.queue or "-")
        return (a.display_name or a.user, state, dur(a.seconds_in_state), call, queue, str(a.calls_today),
                str(a.orders_today), heartbeat)

    def _draw_agents(self, main: WallboardScreen, board: Wallboard) -> None:
        main.query_one("#sv-agents", LiveTable).set_rows([(a.user, self._agent_cells(a)) for a in board.agents])

    def _caller_cells(self, c: WaitingCaller, label: str) -> tuple:
        L = self.L  # noqa: N806
        customer = (c.customer or "-") + (" VIP" if c.vip else "")
        status = L(f"sv_caller_{c.status}") + (f" {c.agent}" if c.agent else "") + (" ⇡" if c.overflow else "")
        return (label, c.number, customer, str(c.priority), "-" if c.position is None else str(c.position),
                dur(c.wait_seconds), status)

    def _draw_callers(self, main: WallboardScreen, board: Wallboard) -> None:
        rows = [(str(c.waiting_id), self._caller_cells(c, q.label or q.name)) for q in board.queues for c in q.callers]
        main.query_one("#sv-callers", LiveTable).set_rows(rows)

    def _draw_charts(self, main: WallboardScreen, board: Wallboard) -> None:
        L, c = self.L, board.charts  # noqa: N806
        width = max(30, main.size.width - 4)
        out = Text()
        out.append(L("sv_chart_calls") + "\n", style="bold")
        out.append_text(columns([(L("sv_today"), c.calls_today, self._tone("primary")),
                                 (L("sv_yesterday"), c.calls_yesterday, self._tone("accent", bold=False))],
                                height=5, width=width, axis=("00:00", "12:00", "24:00")))
        out.append("\n\n" + L("sv_chart_waiting") + "\n", style="bold")
        minutes = c.waiting_minutes
        axis = (minutes[0], minutes[-1]) if minutes else ()
        out.append_text(columns([(L("sv_waiting"), c.waiting_last_hour, self._tone("warning", bold=False))], height=4, width=width, axis=axis))
        out.append("\n\n" + L("sv_chart_funnel") + "\n", style="bold")
        f = c.funnel
        out.append_text(hbars([(L("sv_entered"), f.entered), (L("confirmed"), f.confirmed), (L("charged"), f.charged),
                               (L("sent_to_dairy"), f.sent_to_dairy)], width=width, style=self._tone("success", bold=False)))
        _set(main.query_one("#sv-charts", Static), out)

    def _draw_health(self, main: WallboardScreen, board: Wallboard) -> None:
        L = self.L  # noqa: N806
        out = Text()
        out.append(L("sv_sms_gateway") + "\n", style="bold")
        for m in board.sms.modems:
            signal = "-" if m.signal in (None, 99) else f"{m.signal}/31"
            reg = "?" if m.registered is None else ("✓" if m.registered else "✗")
            line = (f"{m.name}: {m.state} · {L('sv_signal')} {signal} · {L('sv_registered')} {reg}"
                    f" {m.operator or ''} · {L('sv_heartbeat')} {dur(m.heartbeat_age_seconds)}"
                    f" · {L('sv_queue_depth')} {m.queue_depth} · {L('sv_sent')} {m.sent_count}")
            if m.last_error:
                line += f" · {m.last_error}"
            out.append(("✗ " if m.down else "✓ ") + line + "\n", style=self._tone("error") if m.down else "")
        if not board.sms.modems:
            out.append(L("sv_no_modems") + "\n", style="dim")
        s = board.sms
        out.append(f"{L('sv_sms_queued')} {s.queued} · {L('sv_sent_today')} {s.sent_today} · "
                   f"{L('sv_failed_today')} {s.failed_today} · {L('sv_oldest')} {dur(s.oldest_queued_seconds)}\n")
        d = board.dairy
        out.append("\n" + L("sv_dairy") + "\n", style="bold")
        out.append(f"{L('sv_dairy_backlog')} {d.backlog} · {L('sv_failed')} {d.failed} · "
                   f"{L('sv_oldest')} {dur(d.oldest_pending_seconds)}\n")
        a = board.agi
        out.append("\n" + L("sv_agi") + "\n", style="bold")
        if not a.known:
            out.append(L("sv_agi_unknown"), style="dim")
        else:
            out.append(f"{a.name or 'agi'}: {L('sv_up') if a.up else L('sv_down')} · {L('sv_heartbeat')} "
                       f"{dur(a.heartbeat_age_seconds)}", style="" if a.up else self._tone("error"))
        _set(main.query_one("#sv-health", Static), out)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        main, board = self._main(), self.board
        if main is None:
            return
        tables = event.pane.query(LiveTable)
        if tables:
            tables.first().focus()  # the shown list takes the arrow keys
        if board is not None:
            self._draw()

    # -- actions -----------------------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.activity = (self.activity + [text])[-1:]
        main = self._main()
        if main is not None:
            try:
                main.query_one("#sv-activity", Static).update(text)
            except Exception:  # noqa: BLE001, S110 - a screen being torn down
                pass

    def on_done(self, message: Done) -> None:
        self._note(message.text)
        self._poll()

    def _act(self, fn: Callable[[Any], Any], text: str) -> None:
        self._act_worker(fn, text)

    @work(thread=True, exit_on_error=False, group="act")
    def _act_worker(self, fn: Callable[[Any], Any], text: str) -> None:
        try:
            self.backend.call(fn)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "act"))
            return
        self.post_message(Done(text))

    def selected_agent(self) -> AgentBoard | None:
        return self._selected("#sv-agents", {a.user: a for a in self.board.agents} if self.board else {})

    def selected_caller(self) -> WaitingCaller | None:
        callers = {str(c.waiting_id): c for q in self.board.queues for c in q.callers} if self.board else {}
        return self._selected("#sv-callers", callers)

    def _selected(self, table_id: str, items: dict) -> Any:
        main = self._main()
        if main is None:
            return None
        return items.get(main.query_one(table_id, LiveTable).cursor_key)

    def _need_agent(self) -> AgentBoard | None:
        agent = self.selected_agent()
        if agent is None:
            self.push_screen(ErrorModal(self.L("sv_pick_agent"), self.L("sv_hint_pick_agent")))
        return agent

    def _need_caller(self) -> WaitingCaller | None:
        caller = self.selected_caller()
        if caller is None:
            self.push_screen(ErrorModal(self.L("sv_pick_caller"), self.L("sv_hint_pick_caller")))
        return caller

    def _confirm(self, question: str, then: Callable[[], None]) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                then()

        self.push_screen(ConfirmModal(question), done)

    def action_spy(self, mode: str) -> None:
        agent = self._need_agent()
        if agent is None:
            return
        user, text = agent.user, f"{self.L('sv_' + mode + '_key')}: {agent.display_name or agent.user}"

        def go() -> None:
            self._act(lambda s: s.spy(mode, user), f"{text} — {self.L('sv_phone_rings')}")

        if mode == "barge":
            self._confirm(self.L("sv_confirm_barge").format(agent=agent.display_name or agent.user), go)
        else:
            go()

    def action_force(self, command: str) -> None:
        agent = self._need_agent()
        if agent is None:
            return
        user, name = agent.user, agent.display_name or agent.user
        if command == "pause":
            def picked(reason: str | None) -> None:
                if reason:
                    self._act(lambda s: s.force_state(user, "pause", reason),
                              f"{name}: {self.L('now_pause')} ({self.L(reason)})")

            self.push_screen(ChoiceModal(self.L("pause_reason"), [(r, self.L(r)) for r in PAUSE_REASONS],
                                         modal_id="pause-modal"), picked)
        elif command == "logout":
            self._confirm(self.L("sv_confirm_logout").format(agent=name),
                          lambda: self._act(lambda s: s.force_state(user, "logout"), f"{name}: {self.L('sv_signed_out')}"))
        else:
            self._act(lambda s: s.force_state(user, command), f"{name}: {self.L('now_ready')}")

    def action_expert(self) -> None:
        agent = self._need_agent()
        if agent is None:
            return
        user, name, on = agent.user, agent.display_name or agent.user, agent.group != self.expert_group
        self._act(lambda s: s.assign_expert(user, on), f"{name}: {self.L('sv_expert_on' if on else 'sv_expert_off')}")

    def action_priority(self) -> None:
        caller = self._need_caller()
        if caller is None:
            return
        wid, number = caller.waiting_id, caller.number
        self._act(lambda s: s.raise_priority(wid), f"{number}: {self.L('sv_priority_raised')}")

    def action_move(self) -> None:
        caller = self._need_caller()
        if caller is None:
            return
        wid, number = caller.waiting_id, caller.number
        labels = {q.name: q.label or q.name for q in (self.board.queues if self.board else ())}
        options = [(name, labels.get(name, name)) for name in self.queue_names if name != caller.queue]

        def picked(queue: str | None) -> None:
            if queue:
                self._act(lambda s: s.move(wid, queue), f"{number} → {labels.get(queue, queue)}")

        self.push_screen(ChoiceModal(self.L("sv_move_to"), options, modal_id="move-modal"), picked)

    def action_voicemail(self) -> None:
        caller = self._need_caller()
        if caller is None:
            return
        wid, number = caller.waiting_id, caller.number
        self._confirm(self.L("sv_confirm_voicemail").format(caller=number),
                      lambda: self._act(lambda s: s.voicemail(wid), f"{number}: {self.L('sv_to_voicemail')}"))

    def action_qa(self) -> None:
        """QA scoring (cc/tui/qa_screen.py) over the dashboard, on the same backend thread."""
        from cc.tui.qa_screen import make_qa_screen

        self.push_screen(make_qa_screen(self))

    def action_tab(self, tab: str) -> None:
        main = self._main()
        if main is not None:
            main.query_one("#sv-tabs", TabbedContent).active = tab

    def action_help(self) -> None:
        self.push_screen(SupervisorHelp())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"
        main = self._main()
        if main is not None and self.board is not None:
            for widget in main.query(Static):
                widget._sv_text = None  # type: ignore[attr-defined]  # colours come from the theme: redraw
            self._draw()


# -- composition -----------------------------------------------------------------------------------------
def supervisor_factory(config: Any, clock: Clock | None = None, *, dial: str | None = None,
                       control: Callable[[Any], AbstractContextManager[Any]] | None | bool = True,
                       wallboard: Callable[[Any, Any], Any] | None = None) -> SupervisorFactory:
    """Builds the supervisor's services for a user (None: before sign-in) on the calling thread's
    connection (one per thread). ``control``: True = call control over AMI from the config, False/None =
    none (spy refused), or a callable ``services -> context manager`` (tests' fakes). ``wallboard``:
    ``(services, acd) -> object with snapshot()`` instead of the real ``services.wallboard`` (tests)."""
    built = thread_services(config, clock)

    def make(user: str | None) -> Any:
        from cc.services.supervisor import SupervisorService

        services, acd, _ = built(user)
        board = wallboard(services, acd) if wallboard is not None else services.wallboard
        def opener():  # noqa: ANN202
            if callable(control):
                return control(services)
            from cc.telephony.control_wiring import call_control

            return call_control(services)

        usable = control is True or callable(control)
        return SupervisorService(services, acd, board, control=opener if usable else None, dial=dial)

    make.close = built.close
    return make


def make_supervisor_app(config: Any, *, user: str | None = None, password: str | None = None,
                        locale: str | None = None, dark: bool = True, clock: Clock | None = None,
                        dial: str | None = None, poll_seconds: float = 1.0,
                        factory: SupervisorFactory | None = None) -> SupervisorApp:
    """The dashboard, from the config (the command, ``cc demo``) or with a given factory (tests, bench).
    ``user`` + ``password`` sign in at once (the demo); ``user`` alone pre-fills the sign-in form.
    ``dial``: the phone spy sessions ring (default: the supervisor's agent dial string)."""
    factory = factory or supervisor_factory(config, clock, dial=dial)
    return SupervisorApp(factory, locale=locale or config.resolved_locale(), user=user, password=password,
                         poll_seconds=poll_seconds, dark=dark, zone=config.timezone,
                         expert_group=config.asterisk.control.expert_group)
