"""SMS gateway: outbox with leases, send attempts (history), parts and status reports, inbox, destination
holds, and one health row per modem."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0130_sms")
def sms(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- A message is stored here before any attempt to send it. A worker claims it with one conditional
        -- UPDATE (status -> sending, lease_owner, lease_until); a crashed worker's lease simply runs out.
        CREATE TABLE sms_outbox (
            id INTEGER PRIMARY KEY,
            phone TEXT NOT NULL,                 -- E.164
            text TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'manual'
                CHECK (kind IN ('confirmation', 'reply', 'notice', 'manual', 'marketing')),
            priority INTEGER NOT NULL DEFAULT 3, -- lower goes first
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 5,
            next_attempt_at TEXT NOT NULL,
            lease_owner TEXT,
            lease_until TEXT,
            modem TEXT,                          -- the modem that sent it (last attempt)
            last_error TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',     -- why it failed, when it did
            order_id INTEGER REFERENCES orders(id),
            idempotency_key TEXT UNIQUE,
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            sent_at TEXT,
            delivered_at TEXT,
            finished_at TEXT
        );
        CREATE INDEX sms_outbox_due ON sms_outbox(status, priority, next_attempt_at);
        CREATE INDEX sms_outbox_phone ON sms_outbox(phone, status);
        CREATE INDEX sms_outbox_order ON sms_outbox(order_id);

        -- Append-only: one row per claim. An attempt left without an outcome when its message is claimed
        -- again was interrupted (the daemon died): it may or may not have reached the network, so it is
        -- recorded as a possible duplicate.
        CREATE TABLE sms_attempts (
            id INTEGER PRIMARY KEY,
            outbox_id INTEGER NOT NULL REFERENCES sms_outbox(id),
            modem TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT,                        -- sent | error | interrupted
            error TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sms_attempts_outbox ON sms_attempts(outbox_id, id);

        -- The parts a message went out as, matched to status reports by (modem, message reference).
        CREATE TABLE sms_parts (
            id INTEGER PRIMARY KEY,
            outbox_id INTEGER NOT NULL REFERENCES sms_outbox(id),
            attempt_id INTEGER REFERENCES sms_attempts(id),
            modem TEXT NOT NULL,
            reference INTEGER NOT NULL,
            part_no INTEGER NOT NULL,
            parts INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'delivered', 'failed')),
            status_code INTEGER,
            sent_at TEXT NOT NULL,
            report_at TEXT
        );
        CREATE INDEX sms_parts_ref ON sms_parts(modem, reference, id);
        CREATE INDEX sms_parts_outbox ON sms_parts(outbox_id);

        -- Append-only: every status report received, matched or not.
        CREATE TABLE sms_reports (
            id INTEGER PRIMARY KEY,
            modem TEXT NOT NULL,
            reference INTEGER NOT NULL,
            recipient TEXT NOT NULL DEFAULT '',
            delivered INTEGER NOT NULL,
            status_code INTEGER NOT NULL,
            at TEXT,
            received_at TEXT NOT NULL,
            part_id INTEGER REFERENCES sms_parts(id)
        );

        -- Incoming SMS, stored (committed) before they are deleted from the SIM. dedupe_key makes a
        -- message read twice (after a crash between storing and deleting) land once.
        CREATE TABLE sms_inbox (
            id INTEGER PRIMARY KEY,
            modem TEXT NOT NULL,
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            received_at TEXT,                    -- network (SMSC) time
            stored_at TEXT NOT NULL,
            parts INTEGER NOT NULL DEFAULT 1,
            dedupe_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'handled')),
            intent TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL DEFAULT '',    -- confirmed | rejected | opted_out | clarify | expired | ...
            order_code TEXT,
            answer_id INTEGER REFERENCES sms_outbox(id),
            lease_until TEXT,                    -- a handler is acting on it until then
            handled_at TEXT
        );
        CREATE INDEX sms_inbox_status ON sms_inbox(status, id);
        CREATE INDEX sms_inbox_sender ON sms_inbox(sender, id);

        -- Destinations that keep failing are set aside until held_until, so they cannot block the queue.
        CREATE TABLE sms_holds (
            phone TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0, -- consecutive
            held_until TEXT,
            last_error TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );

        -- Heartbeat, one row per modem, written by its worker.
        CREATE TABLE sms_modems (
            name TEXT PRIMARY KEY,
            device TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'starting', -- starting | connected | reconnecting | stopped
            signal INTEGER,
            registered INTEGER,
            operator TEXT,
            imei TEXT,
            model TEXT,
            pid INTEGER,
            heartbeat_at TEXT,
            last_success_at TEXT,
            last_error TEXT NOT NULL DEFAULT '',
            last_error_at TEXT,
            sent_count INTEGER NOT NULL DEFAULT 0,
            received_count INTEGER NOT NULL DEFAULT 0,
            reconnects INTEGER NOT NULL DEFAULT 0,
            queue_depth INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        """
    )
