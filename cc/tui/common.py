"""What the Textual apps share (the agent console, the supervisor dashboard, QA scoring, the IVR editor):
labels in the app's language, the sign-in screen, the error modal, the keys help screen, the messages and
helpers of a backend-thread app, and ``LiveApp``: sign-in / sign-out on a worker, errors shown in a modal,
and a poll re-armed only after the previous result was handled (polls never overlap)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Static

from cc.errors import CcError
from cc.i18n import t


def localize_bindings(node: Any, locale: str) -> None:
    """Binding descriptions are catalog keys; show them in the console's language. The keys are kept on
    the node, so it can be relabelled in another language later."""
    from dataclasses import replace

    keys: dict[tuple[str, str], str] = node.__dict__.setdefault("_cc_binding_keys", {})
    mapping = node._bindings.key_to_bindings
    for key, bindings in list(mapping.items()):
        mapping[key] = [replace(b, description=t(keys.setdefault((key, b.action), b.description), locale))
                        for b in bindings]


def _width(text: str) -> int:
    """Terminal cells (CJK characters take two)."""
    from rich.cells import cell_len

    return cell_len(text)


def show_text(widget: Static, text: str) -> None:
    """Set a Static's text, with a layout pass only when its height may change (an ``auto`` height that
    goes from one line to more, or back). As the agent types in the order form the quote and the undo hint
    change on every key; a layout of the whole console for each of them was most of the key's latency."""
    old = getattr(widget, "_cc_text", None)
    if old == text:
        return
    widget._cc_text = text  # type: ignore[attr-defined]
    width = widget.content_size.width

    def one_line(value: str | None) -> bool:
        return value is not None and "\n" not in value and _width(value) <= width

    widget.update(text, layout=not (width and one_line(old) and one_line(text)))


def err_text(error: BaseException) -> tuple[str, str]:
    """A worker's error as (message, hint) for the error modal."""
    if isinstance(error, CcError):
        return error.message, error.hint or ""
    if isinstance(error, TimeoutError):
        return "the database did not answer in time", "another program holds it locked; try again in a moment"
    text = str(error) or type(error).__name__
    if "locked" in text:
        return f"database: {text}", "another program holds the database; try again in a moment"
    return text, "try again; if it keeps failing, tell a supervisor (the console keeps working)"


def drawing(handler: Any) -> Any:
    """A handler that draws on the main screen: a screen being torn down (sign-out, quit) has no
    widgets left to draw on, and that is no error."""
    from textual.css.query import NoMatches

    @functools.wraps(handler)
    def wrapper(self: Any, *args: Any) -> Any:
        try:
            return handler(self, *args)
        except NoMatches:
            return None

    return wrapper


class Failed(Message):
    """A worker's service call failed; ``where``: sign_in, sign_out, poll or the action's name."""

    def __init__(self, error: BaseException, where: str) -> None:
        super().__init__()
        self.error, self.where = error, where


class Localized:
    def L(self, key: str) -> str:  # noqa: N802
        return t(key, getattr(self.app, "locale", "en"))

    def _localize(self) -> None:
        try:
            locale = self.app.locale
        except Exception:  # noqa: BLE001 - built outside a running app
            return
        localize_bindings(self, locale)


class SignInScreen(Screen, Localized):
    BINDINGS = [Binding("f1", "app.help", "help_key"), Binding("ctrl+q", "app.quit", "quit_key")]

    def __init__(self, user: str | None = None) -> None:
        super().__init__(id="sign-in")
        self._localize()
        self.user = user or ""
        self.AUTO_FOCUS = "#sign-in-password" if self.user else "#sign-in-user"

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-in-box"):
            yield Static(self.L("console_title"), id="sign-in-title")
            yield Label(self.L("user"))
            yield Input(self.user, placeholder=self.L("user"), id="sign-in-user")
            yield Label(self.L("password"))
            yield Input(password=True, placeholder=self.L("password"), id="sign-in-password")
            yield Static("", id="sign-in-message")
            yield Button(self.L("sign_in"), id="sign-in-button", variant="primary")
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "sign-in-user":
            self.query_one("#sign-in-password", Input).focus()
        else:
            self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit()

    def _submit(self) -> None:
        user = self.query_one("#sign-in-user", Input).value
        password = self.query_one("#sign-in-password", Input).value
        self.app.sign_in(user, password)

    def show_message(self, text: str) -> None:
        self.query_one("#sign-in-message", Static).update(text)


class ErrorModal(ModalScreen[None], Localized):
    """A service error: the message and the hint; the console keeps working underneath."""

    BINDINGS = [Binding("escape,enter", "dismiss", "close_key")]

    def __init__(self, message: str, hint: str = "", *, keys: bool = False) -> None:
        """``keys``: the message and the hint are catalog keys (labelled in the console's language)."""
        super().__init__(id="error-modal")
        self._localize()
        self.message, self.hint, self.keys = message, hint, keys

    def compose(self) -> ComposeResult:
        message, hint = (self.L(self.message), self.L(self.hint) if self.hint else "") if self.keys else (self.message, self.hint)
        with Vertical(classes="modal-box error-box"):
            yield Static(f"[b]{self.L('error')}:[/b] {message}", id="error-message", markup=True)
            if hint:
                yield Static(f"[b]{self.L('hint')}:[/b] {hint}", id="error-hint", markup=True)
            yield Button(self.L("close_key"), id="error-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class KeysHelp(ModalScreen[None], Localized):
    """F1: the app's keys in two columns (``KEYS``: (key, label key) pairs), then the text ``TEXT_KEY``."""

    KEYS: tuple[tuple[str, str], ...] = ()
    TEXT_KEY = "help_text"
    BINDINGS = [Binding("escape,f1,q", "dismiss", "close_key")]

    def __init__(self) -> None:
        super().__init__(id="help-screen")
        self._localize()

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box help-box"):
            yield Static(f"[b]{self.L('help_title')}[/b]", markup=True)
            cells = [f"{key:<7} {self.L(label)}" for key, label in self.KEYS]
            half = (len(cells) + 1) // 2
            rows = [(cells[i], cells[i + half] if i + half < len(cells) else "") for i in range(half)]
            yield Static("\n".join(f"{left}{' ' * max(1, 32 - _width(left))}{right}" for left, right in rows),
                         id="help-keys")
            yield Static(self.L(self.TEXT_KEY), id="help-text")

    def action_dismiss(self, result: Any = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class LiveApp:
    """Mixed into an ``App`` driving a service through ``self.backend`` (cc.tui.backend.Backend): sign-in and
    sign-out on a worker, a failed call shown (on the sign-in screen, in a modal, or for a poll in the
    activity line: ``_note``), and a poll that re-arms its timer only once its result was handled
    (``_rearm``), so polls never overlap. The app sets ``SIGN_IN`` (its sign-in screen), ``SIGNED_IN`` (a
    message built from the account and ``_after_sign_in``'s result), ``poll_seconds`` and ``initial_user``,
    and ``MAIN`` (its main screen), and defines ``_start_poll`` (calls ``_fetch``), ``_signed_out`` and ``_note``."""

    SIGN_IN: type[SignInScreen] = SignInScreen
    SIGNED_IN: Callable[[Any, Any], Message]
    MAIN: type[Screen]  # the app's main screen (it sets ``ready`` once mounted)
    _polling = False

    def _after_sign_in(self, service: Any) -> Any:
        """Runs on the backend thread after a sign-in: what the app needs (products, queue names...)."""
        return None

    def sign_in(self, user: str, password: str) -> None:
        self._sign_in(user, password)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def _sign_in(self, user: str, password: str) -> None:
        try:
            account = self.backend.sign_in(user, password)
            extra = self.backend.call(self._after_sign_in)
        except Exception as exc:  # noqa: BLE001 - shown, never fatal
            self.post_message(Failed(exc, "sign_in"))
            return
        self.post_message(self.SIGNED_IN(account, extra))

    def action_sign_out(self) -> None:
        self._sign_out()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def _sign_out(self) -> None:
        try:
            self.backend.sign_out()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "sign_out"))
        self.call_from_thread(self._back_to_sign_in)

    def _back_to_sign_in(self) -> None:
        self._signed_out()
        self.switch_screen(self.SIGN_IN(self.initial_user))

    def _signed_out(self) -> None:
        """Forget what belonged to the signed-out user (before the sign-in screen comes back)."""

    def on_unmount(self) -> None:
        """Closing the app signs out (the console leaves the ACD's rotation)."""
        try:
            self.backend.close()
        except Exception:  # noqa: BLE001, S110 - best effort on the way out; the heartbeat goes stale anyway
            pass

    def on_failed(self, message: Failed) -> None:
        from cc.tui.backend import NotSignedIn

        if isinstance(message.error, NotSignedIn):
            self._polling = False
            return
        text, hint = err_text(message.error)
        if message.where == "sign_in" and isinstance(self.screen, SignInScreen):
            self.screen.show_message(f"{text}\n{hint}")
            return
        if message.where == "poll":
            self._note(f"{self.L('error')}: {text}")
            self._rearm()
            if any(isinstance(s, ErrorModal) for s in self.screen_stack):
                return
        self.push_screen(ErrorModal(text, hint))

    def _main(self) -> Any:
        """The main screen once mounted (it may lie under a modal), else None."""
        for screen in self.screen_stack:
            if isinstance(screen, self.MAIN) and screen.ready:
                return screen
        return None

    def _rearm(self) -> None:
        self._polling = False
        if self.backend.signed_in:
            self.set_timer(max(0.001, self.poll_seconds), self._poll)

    def _poll(self) -> None:
        if self._polling or not self.backend.signed_in:
            return
        self._polling = True
        self._start_poll()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _fetch(self, fetch: Callable[[Any], Any], done: Callable[[Any], Message]) -> None:
        """``fetch(service)`` on the backend thread; its result posted as ``done(result)`` (or Failed)."""
        try:
            result = self.backend.call(fetch)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed(exc, "poll"))
            return
        self.post_message(done(result))
