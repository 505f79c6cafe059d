"""The agent console's link to the services: one thread owns the SQLite connection (one connection per
thread, see DESIGN.md) and runs every service call the console's workers hand it, in order.

``make_console`` builds a ``ConsoleService`` for a user on that thread; tests pass their own (a frozen
clock, a test database), the command builds it from the config.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cc.clock import Clock
from cc.config import Config
from cc.errors import CcError
from cc.services.agent_console import ConsoleService

T = TypeVar("T")


class NotSignedIn(CcError):
    """A call after sign-out (a poll still in flight): dropped by the console."""
ConsoleFactory = Callable[[str | None], ConsoleService]


def thread_services(config: Config, clock: Clock | None = None) -> Callable[[str | None], tuple[Any, Any, Any]]:
    """``user -> (services, acd, db)`` built for ``user`` (None: before sign-in) on the calling thread's own
    connection (opened on its first call); the consoles' factories wrap their service around it.
    ``make.close()`` closes the calling thread's connection (SQLite: on the thread that opened it)."""
    local = threading.local()

    def make(user: str | None) -> tuple[Any, Any, Any]:
        from cc.services.container import build_services
        from cc.store.db import open_db
        from cc.telephony.acd_wiring import acd_service

        db = getattr(local, "db", None)
        if db is None:
            db = local.db = open_db(config.db)
        services = build_services(config, db=db, clock=clock, acting_user=user)
        return services, acd_service(config, db, services.clock, acting_user=user), db

    def close() -> None:
        db = getattr(local, "db", None)
        if db is not None:
            local.db = None
            db.conn.close()

    make.close = close
    return make


def console_factory(config: Config, clock: Clock | None = None, *, heartbeat_every: float = 5.0,
                    ami: bool = True) -> ConsoleFactory:
    """Builds the console's services for a user (None: before sign-in) on the calling thread's connection."""
    built = thread_services(config, clock)

    def make(user: str | None) -> ConsoleService:
        from cc.store.console import ConsoleStore
        from cc.telephony.wiring import call_service

        services, acd, db = built(user)
        control = None
        if ami:
            def control():  # noqa: ANN202
                from cc.telephony.control_wiring import call_control

                return call_control(services)
        return ConsoleService(services, acd, ConsoleStore(db), calls=call_service(services), control=control,
                              heartbeat_every=heartbeat_every)

    make.close = built.close
    return make


class Backend:
    """Runs service calls on its own thread, against the signed-in user's ``ConsoleService``."""

    def __init__(self, factory: ConsoleFactory) -> None:
        self.factory = factory
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cc-console-db")
        self._console: ConsoleService | None = None
        self._anonymous: ConsoleService | None = None

    def call(self, fn: Callable[[ConsoleService], T], timeout: float = 30.0) -> T:
        """Run ``fn(console)`` on the database thread and wait for its result (errors re-raised)."""
        return self._pool.submit(self._run, fn).result(timeout)

    def _run(self, fn: Callable[[ConsoleService], Any]) -> Any:
        if self._console is None:
            raise NotSignedIn("not signed in", "sign in first")
        return fn(self._console)

    def sign_in(self, user: str, password: str) -> dict:
        def run() -> dict:
            if self._anonymous is None:
                self._anonymous = self.factory(None)
            account = self._anonymous.authenticate(user, password)
            console = self.factory(account["name"])
            view = console.sign_in()
            self._console = console
            return view

        return self._pool.submit(run).result(30.0)

    def sign_out(self) -> None:
        def run() -> None:
            if self._console is not None:
                self._console.sign_out()
            self._console = None

        self._pool.submit(run).result(30.0)

    @property
    def signed_in(self) -> bool:
        return self._console is not None

    def close(self) -> None:
        """Sign out, close the thread's connection (``factory.close``, when the factory has one), stop."""
        try:
            self.sign_out()
        finally:
            try:
                closer = getattr(self.factory, "close", None)
                if closer is not None:
                    self._pool.submit(closer).result(30.0)
            finally:
                self._pool.shutdown(wait=True)
