"""The supervisor dashboard's screens other than the wallboard: sign-in (the agent console's, titled for
the supervisor), help, and a yes/no confirmation for destructive actions. Error, choice and form modals
are the agent console's (cc/tui/agent_screens.py)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cc.tui.common import KeysHelp, Localized, SignInScreen


class SupervisorSignIn(SignInScreen):
    """The console's sign-in screen with the dashboard's title."""

    def on_mount(self) -> None:
        self.query_one("#sign-in-title", Static).update(self.L("supervisor_title"))


class ConfirmModal(ModalScreen[bool], Localized):
    """Ask before a destructive action: y / Enter confirms, n / Escape cancels."""

    BINDINGS = [Binding("y", "answer(True)", "yes", show=False), Binding("n,escape", "answer(False)", "close_key")]

    def __init__(self, question: str) -> None:
        super().__init__(id="confirm-modal")
        self._localize()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.L("confirm_yes"), id="confirm-yes", variant="warning")
                yield Button(self.L("confirm_no"), id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# (key, label key) in the order the help screen lists them
HELP_KEYS = (
    ("F1", "help_key"), ("1-4", "sv_tabs_key"), ("l", "sv_listen_key"), ("w", "sv_whisper_key"),
    ("b", "sv_barge_key"), ("r", "sv_ready_key"), ("p", "sv_pause_key"), ("o", "sv_logout_key"),
    ("e", "sv_expert_key"), ("+", "sv_priority_key"), ("m", "sv_move_key"), ("v", "sv_voicemail_key"),
    ("q", "sv_qa_key"), ("ctrl+t", "theme_key"), ("F10", "sign_out_key"), ("ctrl+q", "quit_key"),
)


class SupervisorHelp(KeysHelp):
    """The dashboard's keys (F1)."""

    KEYS = HELP_KEYS
    TEXT_KEY = "sv_help_text"
