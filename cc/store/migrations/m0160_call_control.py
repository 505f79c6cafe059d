"""Call control through AMI: an append-only log of every action taken on live calls (click-to-dial,
transfers, conferences, hang-ups, mute, pick-up, supervisor spy sessions, voice-relay delivery attempts)."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0160_call_control")
def call_control(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Append-only.
        CREATE TABLE call_control_events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            action TEXT NOT NULL,                -- dial | transfer | attended_transfer | conference | hangup | mute |
                                                 -- unmute | pickup | spy_listen | spy_whisper | spy_barge | relay
            actor TEXT NOT NULL DEFAULT '',      -- the user who asked (agent, supervisor), or '' for cron
            agent TEXT NOT NULL DEFAULT '',      -- the agent whose call it is
            call TEXT NOT NULL DEFAULT '',       -- the call as named by the user (uniqueid, channel, agent)
            channel TEXT NOT NULL DEFAULT '',    -- the channel acted on
            target TEXT NOT NULL DEFAULT '',     -- number, agent, queue, group, dial string
            outcome TEXT NOT NULL,               -- ok | failed
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX call_control_events_at ON call_control_events(at);
        CREATE INDEX call_control_events_agent ON call_control_events(agent, at);
        """
    )
