"""A consistent copy of the live database file (``cc backup``), taken while daemons keep writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cc.store.db import ConnectionStore


class BackupStore(ConnectionStore):
    def live_file(self) -> Path | None:
        """The file this connection is on (None for an in-memory database)."""
        for _, name, file in self.conn.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return Path(file).resolve() if file else None
        return None

    def write_copy(self, target: Path) -> tuple[str, dict[str, int], int]:
        """Copy the database to ``target``: VACUUM INTO (one read transaction, so the copy is the database at
        one instant while writers go on in WAL mode; compacted, no WAL of its own) under a temporary name,
        checked, fsynced, then renamed into place; a copy that fails its check never replaces ``target``.
        Returns the integrity verdict, a few row counts and the size in bytes."""
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            partial.unlink(missing_ok=True)
            try:
                self.conn.execute("VACUUM INTO ?", (str(partial),))
            except sqlite3.OperationalError as exc:  # e.g. a read-only folder or a full disk
                raise OSError(str(exc)) from None
            verdict, counts = self.check_copy(partial)
            if verdict != "ok":
                return verdict, counts, 0
            _fsync(partial)
            os.replace(partial, target)
            _fsync(target.parent)
            return verdict, counts, target.stat().st_size
        finally:
            partial.unlink(missing_ok=True)

    @staticmethod
    def check_copy(target: Path) -> tuple[str, dict[str, int]]:
        """``PRAGMA integrity_check`` of the copy, and a few row counts to show what it holds."""
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
                      for table in ("customers", "orders", "ledger", "calls")
                      if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()}
            return verdict, counts
        finally:
            conn.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
