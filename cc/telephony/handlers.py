"""From an AGI session to the IVR: route by script name, check the shared secret, run the call.

Shared by the FastAGI server (many calls, one process) and the classic-AGI entry point (one process per
call). Kept free of typer/rich/textual/sqlite-utils so the classic path starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cc.clock import Clock, SystemClock
from cc.domain import ivr
from cc.services.callers import services_lookup, store_lookup
from cc.services.ivr_calls import CallOutcome, IvrRuntime, RuntimeSettings, TreeSource
from cc.services.ports import CallerHungUp, ChannelError
from cc.store.calls import CallStore, CallWriter, ConnectionPool, QueuedCallStore, connect, has_schema
from cc.telephony.agi import AGI, AgiChannel

if TYPE_CHECKING:  # the classic-AGI process runs without cc.config when there is no config file
    from cc.config import Config


# The FastAGI server's call records: at most one transaction per this many seconds (a write waits at most
# that long; none waits after a quiet spell). Under a burst of calls a transaction per few writes made the
# writer a third of the server's CPU; a process killed outright loses at most this interval's writes.
WRITE_SPACING = 0.02


def settings_from_config(config: Config) -> RuntimeSettings:
    data = config.data_dir
    return RuntimeSettings(
        prompts_dir=Path(config.ivr.prompts_dir or data / "prompts"),
        recordings_dir=Path(config.ivr.voicemail_dir or data / "voicemail"),
        asterisk_prompts_dir=config.ivr.asterisk_prompts_dir,
        asterisk_recordings_dir=config.ivr.asterisk_recordings_dir,
        record_format=config.ivr.record_format,
        dial_template=config.ivr.dial_template,
    )


def ensure_schema(db_path: str, *, keep_open: bool = False) -> Any:
    """Create/migrate the database once if the call tables are missing (slow path: loads sqlite-utils).
    With ``keep_open``, returns the connection it checked with (one process, one call: classic AGI)."""
    import sqlite3

    from cc.errors import UsageError

    try:
        conn = connect(db_path)
        try:
            ready = has_schema(conn)
        finally:
            if not (keep_open and ready):
                conn.close()
    except sqlite3.Error as exc:
        raise UsageError(f"cannot open database {db_path}: {exc}", "check --db / CC_DB and that its folder exists") from None
    if not ready:
        from cc.store.db import open_db

        open_db(db_path).conn.close()
        conn = connect(db_path) if keep_open else None
    return conn if keep_open else None


def build_runtime(
    config: Config, clock: Clock | None = None, services: Any = None, load_tree: bool = True, queued_writes: bool = False,
    one_connection: bool = False,
) -> IvrRuntime:
    """The IVR runtime for this configuration: a connection per call, the tree from the database (the
    shipped default is imported on first use), callers classified through the services when given.

    ``queued_writes`` (the FastAGI server): call records are written by one writer thread
    (``runtime.writer``; close it after the server stops) instead of by each call's thread.
    ``one_connection`` (classic AGI: one call per process): the schema check, the tree and the call share
    one connection (``runtime.connection``; close it at the end) instead of opening three."""
    shared = ensure_schema(config.db, keep_open=one_connection)
    settings = settings_from_config(config)
    clock = clock or SystemClock()
    writer = CallWriter(config.db, spacing=WRITE_SPACING) if queued_writes else None
    pool = ReservePool(config.db) if queued_writes else None

    def store_factory() -> CallStore:
        if writer is not None and pool is not None:
            return QueuedCallStore(BorrowedConnection(pool), writer)
        if shared is not None:
            return CallStore(shared, release=_keep)
        return CallStore(connect(config.db))

    def fallback(store: CallStore) -> tuple[int, ivr.Tree]:
        from cc.services.ivr import IvrService

        source = Path(config.ivr.tree) if config.ivr.tree else None
        own = CallStore(connect(config.db)) if isinstance(store.conn, BorrowedConnection) else None  # writes in a transaction
        try:
            return IvrService(own or store, clock, settings.prompts_dir, source, actor="agi").ensure_tree()
        finally:
            if own is not None:
                own.close()

    lookup = services_lookup(services) if services is not None else store_lookup
    trees = TreeSource(fallback)
    if load_tree:  # import the default tree now rather than under the first burst of calls
        store = store_factory()
        try:
            trees.current(store)
        finally:
            store.close()
    runtime = IvrRuntime(store_factory, clock, settings, lookup, trees)
    runtime.writer = writer
    runtime.pool = pool
    runtime.connection = shared
    runtime.acd = _lazy_acd_hook(config, clock)  # the IVR's queue nodes hand callers to the ACD
    return runtime


def _keep(conn: Any) -> None:
    """A store's release when the connection outlives it (``one_connection``)."""


class BorrowedConnection:
    """A FastAGI call's connection: each statement borrows one of the server's pooled connections for just
    as long as it runs, reads its rows and hands it back. A call reads a few rows at its start (caller,
    tree) and queues its writes (``QueuedCallStore``), so 200 simultaneous calls need a handful of
    connections, not 200: none is opened while a burst of calls is set up. No transactions here."""

    in_transaction = False

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def execute(self, sql: str, params: Any = ()) -> _Fetched:
        if sql.lstrip()[:9].upper().startswith(("BEGIN", "SAVEPOINT")):
            raise RuntimeError("a borrowed connection runs single statements, not transactions")
        conn = self.pool.take()
        try:
            return _Fetched(conn.execute(sql, params))
        finally:
            self.pool.give(conn)

    def close(self) -> None:
        pass


class _Fetched:
    """A statement's result, read in full before its connection went back to the pool."""

    def __init__(self, cursor: Any) -> None:
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self._rows = cursor.fetchall()

    def fetchall(self) -> list:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class ReservePool(ConnectionPool):
    """The FastAGI server's connections, lent statement by statement (``BorrowedConnection``). Some are
    open from the start, so a burst of new calls does not open any while it is set up (a connection costs
    ~2-10 ms of CPU here while Asterisk sets up calls on the same two cores; ~190 KiB each).

    ``reserve`` connections are opened at start; when borrowing has left fewer free, a background thread
    opens more once no statement has borrowed one for ``quiet`` seconds (not during a burst, when the CPU
    is short). A statement finding none free opens its own. Beyond ``keep`` free, given-back ones close."""

    def __init__(self, path: str, keep: int = 64, reserve: int = 32, quiet: float = 0.5) -> None:
        import threading
        import time

        super().__init__(path, keep)
        self.reserve = min(reserve, keep)
        self.quiet = quiet
        self._clock = time.monotonic
        self._last_take = self._clock()
        self._wanted = threading.Event()
        self._closed = False
        self.warm(self.reserve)
        threading.Thread(target=self._refill, name="db-reserve", daemon=True).start()

    def take(self):  # noqa: ANN201
        self._last_take = self._clock()
        conn = super().take()
        if len(self._free) < self.reserve and not self._wanted.is_set():
            self._wanted.set()
        return conn

    def close(self) -> None:
        """Close the free connections (the server has stopped: no statement borrows any more)."""
        self._closed = True
        self._wanted.set()
        with self._lock:
            free, self._free = self._free, []
            self.keep = 0  # one given back later closes
        for conn in free:
            conn.close()

    def _refill(self) -> None:
        import time

        while self._wanted.wait() and not self._closed:
            while (left := self.quiet - (self._clock() - self._last_take)) > 0:  # a burst: wait for it to end
                time.sleep(left)
            self._wanted.clear()
            while len(self._free) < self.reserve and self._clock() - self._last_take >= self.quiet and not self._closed:
                try:
                    conn = connect(self.path)
                except Exception:  # noqa: BLE001 - a statement opens its own then (ConnectionPool.take)
                    break
                with self._lock:
                    if self._closed:
                        conn.close()
                        return
                    self._free.append(conn)
            if len(self._free) < self.reserve and not self._closed:
                self._wanted.set()  # a call came in meanwhile: later


def _blocking(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, on a thread of its own when on the FastAGI server's loop (``cc.telephony.loop``)."""
    from cc.telephony.loop import blocking

    return blocking(fn, *args)


def _lazy_acd_hook(config: Config, clock: Clock) -> Any:
    """The ACD hook (cc/telephony/queue_handler.py), imported when a caller first reaches a queue node:
    a classic-AGI process that never queues does not pay for loading the ACD (~45 ms here). On the FastAGI
    server's loop it holds the caller on a thread of its own (``_blocking``)."""
    import threading

    lock = threading.Lock()
    loaded: list[Any] = []

    def hook(call: Any, queue: str) -> Any:
        with lock:
            if not loaded:
                from cc.telephony.queue_handler import make_hook

                loaded.append(make_hook(config, clock))
        return loaded[0](call, queue)

    return lambda call, queue: _blocking(hook, call, queue)


def parse_request(env: dict[str, str], default_script: str = "inbound") -> tuple[str, dict[str, str]]:
    """Script name and parameters from ``agi_request`` (``agi://host:4573/inbound?secret=x``) or
    ``agi_network_script`` (``inbound?secret=x``)."""
    request = env.get("agi_network_script") or env.get("agi_request") or ""
    if "://" in request:
        parts = urlsplit(request)
        path, query = parts.path, parts.query
    else:
        path, _, query = request.partition("?")
    script = path.strip("/").split("/")[-1] or default_script
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    return script, params


def secret_ok(expected: str | None, params: dict[str, str]) -> bool:
    if not expected:
        return True
    import hmac

    return hmac.compare_digest(params.get("secret", "").encode(), expected.encode())


def handle(agi: AGI, runtime: IvrRuntime, config: Config, script: str | None = None) -> CallOutcome | str:
    """Run one AGI session to its end. Never raises for a broken session: the call record says why."""
    parsed_script, params = parse_request(agi.env)
    script = script or parsed_script
    if not secret_ok(config.agi.secret, params):
        call_id = runtime.fail_early(agi.env, script, "AGI request without the right secret")
        return call_id
    # The ACD's scripts claim agents and calls in transactions and hold the session through Dial: on the
    # FastAGI server's loop they run on a thread of their own (cc.telephony.loop.blocking).
    if script == "acd_answered":  # an agent's channel, from Dial's U() subroutine (cc/telephony/queue_handler.py)
        from cc.telephony.queue_handler import agent_answered

        return _blocking(agent_answered, agi, params, config, runtime.clock)
    if script == "acd_queue":  # a call sent straight into a queue (transfer; cc/telephony/control_dialplan.py)
        from cc.telephony.queue_handler import queue_script

        return _blocking(queue_script, agi, params, runtime, config)
    channel = AgiChannel(agi, dial_template=runtime.settings.dial_template)
    outcome = runtime.run(channel, script, params)
    if not agi.hung_up and not channel.transferred:
        try:  # the dialplan's sign that the IVR finished (no fallback)
            channel.set_variable("CC_IVR_STATUS", outcome.result)
        except (CallerHungUp, ChannelError, Exception):
            pass
    return outcome


def outcome_json(outcome: CallOutcome) -> str:
    return json.dumps({"call": outcome.call_id, "result": outcome.result, "reason": outcome.reason}, ensure_ascii=False)
