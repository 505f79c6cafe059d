"""Checkpoints off the hot path: a thread of its own copies the WAL into the database file.

SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past ``wal_autocheckpoint``
pages: that commit copies every page since the last checkpoint and fsyncs the WAL and the database (on
these disks about 30 ms for the 10 MB a few hundred orders write). An agent saving an order, or a caller
waiting for the next prompt, would wait for it. With this thread running PASSIVE checkpoints every
``interval`` seconds (PASSIVE never waits for, nor blocks, a reader or a writer), the work is done by the
time a commit reaches the threshold; that commit's own checkpoint then has little left to copy and sync,
and it still restarts the WAL, so the file stays bounded (measured: about 15% more orders per second).

Long-running processes (consoles, daemons, the AGI server, the demo) start one per database file:

    with background_checkpoints(config.db):
        serve()
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.05


class Checkpointer:
    def __init__(self, path: str | Path, *, interval: float = INTERVAL_SECONDS) -> None:
        self.path = str(path)
        self.interval = interval
        self.rounds = 0  # checkpoints run (tests wait on it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        if self._thread is None and self.path != ":memory:":
            self._thread = threading.Thread(target=self._run, name="cc-checkpoint", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Idempotent; waits (bounded) for the round in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        path = Path(self.path)
        while not path.exists():  # the process may create the database after starting this (cc agi serve)
            if self._stop.wait(self.interval):
                return
        try:
            # A connection of its own: a checkpoint needs no transaction, and this thread must not share
            # one with the code it relieves. mode=rw: never create a file (the process creates it).
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("background checkpoints off: cannot open %s: %s", self.path, exc)
            return
        try:
            conn.execute("PRAGMA busy_timeout=0")  # PASSIVE never waits; a busy round is just skipped
            while not self._stop.wait(self.interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # e.g. the file was removed under us: the next round tries again
                    log.debug("checkpoint round failed: %s", exc)
                self.rounds += 1
        finally:
            conn.close()


@contextlib.contextmanager
def background_checkpoints(path: str | Path, *, interval: float = INTERVAL_SECONDS) -> Iterator[Checkpointer]:
    """Run a Checkpointer for the database at ``path`` while the block runs."""
    checkpointer = Checkpointer(path, interval=interval).start()
    try:
        yield checkpointer
    finally:
        checkpointer.stop()
