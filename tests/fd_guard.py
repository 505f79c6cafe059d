"""The suite's guard on open file descriptors (used by tests/conftest.py).

The whole suite runs in one pytest process. Descriptors a test leaves open (a database connection a fixture
never closed: three in WAL mode, a socket, a pipe, a pty) pile up; past 1,024, pyserial's select() fails
("filedescriptor out of range in select()") in whichever test opens a serial port next.

After each test the guard counts /proc/self/fd (about 20 µs). Over ``start + SOFT`` it runs the garbage
collector (services objects hold reference cycles, so an unclosed connection stays open until a full
collection) and remembers which test it was and how many descriptors that freed: the terminal summary lists
them, as a warning. Still over ``start + HARD`` after the collection, the test fails at teardown with what
is open; the bound then moves up, so one leak fails one test, not all that follow.

``CC_FD_TRACE=1`` also reports each test that left descriptors behind, and where every SQLite connection
still open after its test was opened (slower: a stack per connection); for finding a leak, not for CI.
"""

from __future__ import annotations

import collections
import gc
import os
import sqlite3
import traceback
import weakref
from pathlib import Path

FD_DIR = "/proc/self/fd"
SOFT = 64  # more than this over the session's start: collect garbage and note who left it
HARD = 256  # more than this still open after a collection: the test fails


def available() -> bool:
    return Path(FD_DIR).is_dir()


def count() -> int:
    return len(os.listdir(FD_DIR))


def open_descriptors() -> dict[int, str]:
    found = {}
    for name in os.listdir(FD_DIR):
        try:
            found[int(name)] = os.readlink(f"{FD_DIR}/{name}")
        except OSError:  # the listing's own descriptor, or one closed meanwhile
            pass
    return found


def kind(target: str) -> str:
    for prefix, label in (("socket:", "socket"), ("pipe:", "pipe"), ("anon_inode:", "anon_inode"),
                          ("/dev/pts", "pty"), ("/dev/ptmx", "pty")):
        if target.startswith(prefix):
            return label
    if target.endswith((".db", ".db-wal", ".db-shm", "-wal", "-shm")):
        return "sqlite"
    return "file"


def describe(descriptors: dict[int, str], limit: int = 6) -> str:
    kinds = collections.Counter(kind(t) for t in descriptors.values())
    by_target = collections.Counter(descriptors.values())
    common = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in by_target.most_common(limit))
    return f"{dict(kinds)}; most common: {common}"


_to_close: list = []


def close_after_test(thing):  # noqa: ANN001, ANN201
    """``thing`` (anything with ``close()``: services, a store, a file) is closed when the running test ends,
    after its fixtures, on the main thread. For helpers that build things a test body uses directly."""
    _to_close.append(thing)
    return thing


def close_registered() -> None:
    failures = []
    while _to_close:
        try:
            _to_close.pop().close()
        except Exception as exc:  # noqa: BLE001 - close the others, then report the first
            failures.append(exc)
    if failures:
        raise failures[0]


class Guard:
    def __init__(self, trace: bool = False) -> None:
        self.start = count()
        self.start_fds = open_descriptors()
        self.limit = self.start + HARD
        self.peak = self.start
        self.reclaimed: list[tuple[str, int, int]] = []  # (test, before gc, after gc)
        self.failed: list[str] = []
        self.trace = Tracer() if trace else None

    def after_test(self, nodeid: str) -> str | None:
        """Check after a test's teardown; returns a failure message, or None."""
        n = count()
        self.peak = max(self.peak, n)
        if self.trace:
            self.trace.after_test(nodeid, n)
        if n <= self.start + SOFT:
            return None
        gc.collect()
        after = count()
        if after < n:
            self.reclaimed.append((nodeid, n, after))
        if after <= self.limit:
            return None
        self.limit = after + HARD
        self.failed.append(nodeid)
        new = {fd: t for fd, t in open_descriptors().items() if self.start_fds.get(fd) != t}
        return (f"the test process holds {after} open descriptors (the session began with {self.start}); "
                f"some test up to this one leaves descriptors open: {describe(new)}. "
                f"Find it with CC_FD_TRACE=1 (see tests/fd_guard.py)")

    def summary(self) -> list[str]:
        lines = [f"open descriptors: {self.start} at the start, {count()} at the end, peak {self.peak}"]
        if self.reclaimed:
            total = sum(before - after for _, before, after in self.reclaimed)
            lines.append(f"WARNING: {total} descriptor(s) were left for the garbage collector to close "
                         f"(unclosed connections?), found after these tests:")
            lines += [f"  {nodeid}: {before} -> {after}" for nodeid, before, after in self.reclaimed[:20]]
        if self.trace:
            lines += self.trace.summary()
        return lines


class Tracer:
    """CC_FD_TRACE=1: per-test descriptor deltas and the origin of SQLite connections left open."""

    def __init__(self) -> None:
        self.before = count()
        self.deltas: list[tuple[int, str, int]] = []
        self.origins: collections.Counter = collections.Counter()
        self.live: dict[int, tuple[weakref.ref, str]] = {}
        original = sqlite3.connect

        class Tracked(sqlite3.Connection):  # a subclass takes weak references; sqlite3.Connection does not
            pass

        def connect(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            kwargs.setdefault("factory", Tracked)
            conn = original(*args, **kwargs)
            if isinstance(conn, Tracked):
                here = [f"{Path(f.filename).name}:{f.lineno}" for f in traceback.extract_stack()[:-1]
                        if "site-packages" not in f.filename and "fd_guard" not in f.filename]
                self.live[id(conn)] = (weakref.ref(conn), " <- ".join(reversed(here[-4:])))
            return conn

        sqlite3.connect = connect

    def after_test(self, nodeid: str, n: int) -> None:
        if n != self.before:
            self.deltas.append((n - self.before, nodeid, n))
        self.before = n
        for key, (ref, origin) in list(self.live.items()):
            conn = ref()
            del self.live[key]
            if conn is None:
                continue
            try:
                conn.in_transaction  # noqa: B018 - raises once closed
            except sqlite3.ProgrammingError:
                continue
            self.origins[(nodeid.split("::")[0], origin)] += 1

    def summary(self) -> list[str]:
        by_file: collections.Counter = collections.Counter()
        for delta, nodeid, _ in self.deltas:
            by_file[nodeid.split("::")[0]] += delta
        lines = ["descriptors left behind, by test file (after the file's tests ran):"]
        lines += [f"  {n:+5d} {name}" for name, n in by_file.most_common(15) if n > 0]
        lines.append("the tests that left the most:")
        lines += [f"  {d:+4d} ({n}) {nodeid}" for d, nodeid, n in sorted(self.deltas, reverse=True)[:15]]
        lines.append("SQLite connections still open after their test, by where they were opened:")
        lines += [f"  {n:4d} {name}: {origin}" for (name, origin), n in self.origins.most_common(25)]
        return lines
