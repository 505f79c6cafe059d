"""The agent console (issue 6): the wrap-up code and notes an agent leaves at the end of every call."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0210_console")
def console(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Append-only: one row per call an agent wrapped up.
        CREATE TABLE console_wrapups (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            agent TEXT NOT NULL,
            call_id TEXT NOT NULL DEFAULT '',
            caller TEXT NOT NULL DEFAULT '',
            code TEXT NOT NULL,                  -- order | enquiry | complaint | no_sale | wrong_number | other
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX console_wrapups_agent ON console_wrapups(agent, at);
        CREATE INDEX console_wrapups_call ON console_wrapups(call_id);
        """
    )
