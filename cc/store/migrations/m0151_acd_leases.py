"""ACD: a waiting caller's handler shows it is alive (``seen_at``), so a caller whose AGI handler died
(server killed, crash) is taken out of the line instead of being offered to agents for ever."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0151_acd_leases")
def acd_leases(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        ALTER TABLE acd_waiting ADD COLUMN seen_at TEXT;   -- the handler's last sign of life
        """
    )
