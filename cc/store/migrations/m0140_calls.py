"""Calls (one row each), their append-only event log, the IVR tree, and what callers leave behind:
voicemail, voice relays waiting for outbound delivery, queue requests waiting for the ACD."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0140_calls")
def calls(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Every loaded version of the IVR tree; the newest row is the one new calls use.
        CREATE TABLE ivr_trees (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',     -- the file it was imported from
            yaml TEXT NOT NULL,                  -- as written (for export)
            tree_json TEXT NOT NULL,             -- the checked plain form (what calls load, fast)
            loaded_at TEXT NOT NULL,
            loaded_by TEXT NOT NULL DEFAULT ''
        );

        CREATE TABLE calls (
            id TEXT PRIMARY KEY,                 -- Asterisk's uniqueid when there is one
            channel TEXT NOT NULL DEFAULT '',
            caller TEXT NOT NULL DEFAULT '',     -- E.164 when it could be normalised, else as received
            dnid TEXT NOT NULL DEFAULT '',
            script TEXT NOT NULL DEFAULT '',     -- AGI script name: inbound, staff, ...
            customer_id INTEGER,
            vip INTEGER NOT NULL DEFAULT 0,
            blacklisted INTEGER NOT NULL DEFAULT 0,
            tree_id INTEGER,
            started_at TEXT NOT NULL,
            answered_at TEXT,
            ended_at TEXT,
            path TEXT NOT NULL DEFAULT '[]',     -- JSON list of IVR node ids, in order
            result TEXT,                         -- completed | queued | transferred | voicemail | relayed | ...
            reason TEXT                          -- termination reason, in words
        );
        CREATE INDEX calls_started ON calls(started_at);
        CREATE INDEX calls_caller ON calls(caller, started_at);

        -- Append-only.
        CREATE TABLE call_events (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- start | answer | node | key | queue | store | transfer | end | error
            node TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX call_events_call ON call_events(call_id, id);

        CREATE TABLE voicemails (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            caller TEXT NOT NULL,
            node TEXT NOT NULL,
            file TEXT NOT NULL,                  -- without extension, as Asterisk recorded it
            format TEXT NOT NULL,
            duration_ms INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            heard_at TEXT
        );

        -- Voice relays: delivered later by an outbound call through AMI (not yet: status stays pending).
        CREATE TABLE voice_relays (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            caller TEXT NOT NULL,
            target TEXT NOT NULL,
            file TEXT NOT NULL,
            format TEXT NOT NULL,
            duration_ms INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'calling', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX voice_relays_status ON voice_relays(status, created_at);

        -- A caller asked for a service queue; the ACD (next issue) takes these.
        CREATE TABLE queue_requests (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            queue TEXT NOT NULL,
            caller TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'requested',
            created_at TEXT NOT NULL
        );
        CREATE INDEX queue_requests_status ON queue_requests(status, priority, created_at);

        -- Greetings recorded by staff over the phone (the file becomes the prompt's sound).
        CREATE TABLE greetings (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL REFERENCES calls(id),
            prompt TEXT NOT NULL,
            file TEXT NOT NULL,
            recorded_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        """
    )
