"""A consistent copy of the live database file (``cc backup``), taken while daemons keep writing."""

from __future__ import annotations

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

    def copy_into(self, target: Path) -> None:
        """VACUUM INTO: one read transaction, so the copy is the database at one instant (writers go on in
        WAL mode), compacted, and without a WAL of its own."""
        self.conn.execute("VACUUM INTO ?", (str(target),))

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
