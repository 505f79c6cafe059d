"""Complaints (one row each, the current state) and their append-only timeline."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0180_complaints")
def complaints(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE complaints (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            phone TEXT NOT NULL,                 -- E.164, as the customer gave it
            category TEXT NOT NULL,
            priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal', 'low')),
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'escalated', 'closed')),
            text TEXT NOT NULL,
            order_id INTEGER REFERENCES orders(id),
            call_id TEXT,                        -- the call it was taken on (calls.id), when known
            assignee TEXT,
            due_at TEXT NOT NULL,                -- SLA deadline (UTC ISO)
            escalated_at TEXT,
            closed_at TEXT,
            resolution TEXT,
            close_sms_id INTEGER REFERENCES sms_outbox(id),
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX complaints_status_due ON complaints(status, due_at);
        CREATE INDEX complaints_customer ON complaints(customer_id, id);
        CREATE INDEX complaints_created ON complaints(created_at);
        CREATE INDEX complaints_closed ON complaints(closed_at);

        -- Append-only: every creation, note, assignment, escalation and closing.
        CREATE TABLE complaint_events (
            id INTEGER PRIMARY KEY,
            complaint_id INTEGER NOT NULL REFERENCES complaints(id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- opened | note | assigned | escalated | closed
            from_status TEXT,
            to_status TEXT,
            text TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX complaint_events_complaint ON complaint_events(complaint_id, id);
        CREATE TRIGGER complaint_events_no_update BEFORE UPDATE ON complaint_events
        BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END;
        CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events
        BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END;
        """
    )
