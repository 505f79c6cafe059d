"""The wallboard and the queue/agent reports (issue 7/8): indexes for today's range scans over the history,
and one heartbeat row per FastAGI server (the wallboard's "AGI server down" alert)."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0220_wallboard")
def wallboard(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Exits of every queue in a time range (today's figures, the queue report by interval).
        CREATE INDEX acd_exits_at ON acd_exits(at);
        -- The agents' events in a time range (state durations; talk and wrap-up of answered calls).
        CREATE INDEX acd_agent_events_at ON acd_agent_events(at);
        -- Partial: only rows that reached the state are indexed, so queueing an SMS costs nothing more.
        CREATE INDEX sms_outbox_sent_at ON sms_outbox(sent_at) WHERE sent_at IS NOT NULL;
        CREATE INDEX sms_outbox_failed_at ON sms_outbox(finished_at) WHERE status = 'failed';

        -- Live: one row per FastAGI server (host:port), refreshed every few seconds while it serves.
        CREATE TABLE agi_servers (
            name TEXT PRIMARY KEY,               -- host:port it listens on
            pid INTEGER,
            started_at TEXT NOT NULL,
            heartbeat_at TEXT NOT NULL,
            stopped_at TEXT,                     -- set on a clean stop
            active_calls INTEGER NOT NULL DEFAULT 0,
            total_calls INTEGER NOT NULL DEFAULT 0
        );
        """
    )
