"""The supervisor's seat (issue 7): sign-in for supervisors and admins, the wallboard snapshot, and the
supervisor's actions on agents and waiting callers.

A facade over services that already exist: the wallboard figures come from ``WallboardService`` (one
computation shared with the reports), agent and caller operations from ``AcdService`` (which records who
did what), listen/whisper/barge from ``CallControlService.spy``. No Textual here: the dashboard, the bench
and any other front end call the same methods. Built per signed-in user, one instance per thread (its
connection), like the agent console's ``ConsoleService`` -- and with the same ``authenticate`` /
``sign_in`` / ``sign_out`` shape, so the console's ``Backend`` thread runs it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cc.errors import PermissionDenied, Unreachable, UsageError
from cc.services.sign_in import authenticate

SUPERVISOR_ROLES = ("supervisor", "admin")
SPY_MODES = ("listen", "whisper", "barge")
FORCE_COMMANDS = ("ready", "pause", "logout")
PRIORITY_STEP = 10  # one "raise priority" press
MAX_PRIORITY = 1000  # the ACD's bound


class SupervisorService:
    """``services.acting_user`` is the supervisor; ``acd`` and ``wallboard`` run on the same connection.
    ``control`` opens a call-control session (AMI) for one action; None: no Asterisk (spy refused)."""

    def __init__(self, services: Any, acd: Any, wallboard: Any, *,
                 control: Callable[[], AbstractContextManager[Any]] | None = None, dial: str | None = None) -> None:
        self.services = services
        self.acd = acd
        self.wallboard = wallboard
        self.control = control
        self.dial = dial  # the supervisor's phone for spy sessions; None: their agent dial string

    @property
    def user(self) -> str:
        return self.services.acting_user or ""

    # -- sign in / out (the shape the console's Backend drives) --------------------------------------
    def authenticate(self, name: str, password: str) -> dict:
        return authenticate(self.services.users, name, password, roles=SUPERVISOR_ROLES, role_text="a supervisor",
                            hint="sign in with a supervisor or admin account")

    def sign_in(self) -> dict:
        """The (already authenticated, or trusted: the demo) user's account, checked again for its role."""
        account = self.services.users.get(self.user)
        self._check_role(account)
        return account

    def sign_out(self) -> None:
        """Nothing to release: a supervisor is not in the ACD's rotation."""

    @staticmethod
    def _check_role(account: dict) -> None:
        if account.get("disabled"):
            raise PermissionDenied(f"user '{account['name']}' is disabled", "ask an administrator")
        if account["role"] not in SUPERVISOR_ROLES:
            raise PermissionDenied(f"{account['name']} is {account['role']}, not a supervisor",
                                   "sign in with a supervisor or admin account")

    def _require(self) -> None:
        self._check_role(self.services.users.get(self.user))

    # -- the wallboard -------------------------------------------------------------------------------
    def snapshot(self) -> Any:
        """The immutable ``Wallboard`` the dashboard draws (see cc/services/wallboard.py)."""
        return self.wallboard.snapshot()

    def queue_names(self) -> tuple[str, ...]:
        return tuple(self.acd.queues())

    # -- actions on agents ---------------------------------------------------------------------------
    def spy(self, mode: str, agent: str) -> dict:
        """Ring the supervisor's phone to listen to / whisper to / barge into the agent's live call."""
        if mode not in SPY_MODES:
            raise UsageError(f"spy mode '{mode}' is not one of {', '.join(SPY_MODES)}")
        self._require()
        if self.control is None:
            raise Unreachable("call control is not available here (no Asterisk manager link)",
                              "start the dashboard where Asterisk's AMI is reachable (asterisk.ami in the config)")
        with self.control() as control:
            return control.spy(mode, self.user, agent, dial=self.dial)

    def force_state(self, agent: str, command: str, reason: str = "") -> dict:
        """Force an agent to ready, pause (with a reason) or sign-out; the ACD records the supervisor."""
        if command not in FORCE_COMMANDS:
            raise UsageError(f"'{command}' is not one of {', '.join(FORCE_COMMANDS)}")
        if command == "pause" and not reason.strip():
            raise UsageError("a pause needs a reason", "pick one of the pause reasons")
        self._require()
        return self.acd.force_state(agent, command, reason.strip())

    def assign_expert(self, agent: str, on: bool = True) -> dict:
        """Put the agent into (or out of) the expert seat: the group "expert" transfers ring."""
        self._require()
        return self.acd.assign_expert(agent, on)

    # -- actions on waiting callers ------------------------------------------------------------------
    def raise_priority(self, waiting_id: int, step: int = PRIORITY_STEP) -> dict:
        """Move a waiting caller up the line by ``step`` priority points (bounded by the ACD's maximum)."""
        self._require()
        row = self.acd.store.waiting(waiting_id)
        current = int(row["priority"]) if row else 0
        return self.acd.set_priority(waiting_id, min(MAX_PRIORITY, current + step))

    def move(self, waiting_id: int, queue: str) -> Any:
        """Move a waiting caller to another queue."""
        self._require()
        return self.acd.move_waiting(waiting_id, queue)

    def voicemail(self, waiting_id: int) -> Any:
        """Send a waiting caller to the queue's voicemail (their AGI handler takes them there)."""
        self._require()
        return self.acd.send_to_voicemail(waiting_id)
