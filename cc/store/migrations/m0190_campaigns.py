"""Campaigns, the append-only history of who was contacted (once per campaign window), and the call list
agents work by preview dialing."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0190_campaigns")
def campaigns(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            segment TEXT NOT NULL,               -- dormant:30 | ending:3 | birthday | first_order:2 | tag:vip | all
            filter TEXT NOT NULL DEFAULT '',     -- extra conditions in the small filter language
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'call', 'sms_then_call')),
            template TEXT NOT NULL DEFAULT '',   -- SMS text with {name} {brand} {hotline} ... fields
            window_days INTEGER NOT NULL CHECK (window_days > 0),  -- one contact per customer per window
            max_per_run INTEGER,                 -- rate limit; NULL: campaigns.max_per_run
            call_after_days INTEGER,             -- sms_then_call; NULL: campaigns.call_after_days
            conversion_days INTEGER,             -- NULL: campaigns.conversion_days
            active INTEGER NOT NULL DEFAULT 1,
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        -- Append-only: one row per customer contacted, at most one per campaign window, however often
        -- cron runs the campaign (the UNIQUE key; runs insert with ON CONFLICT DO NOTHING).
        CREATE TABLE campaign_contacts (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            window_no INTEGER NOT NULL,          -- local day number // window_days
            phone TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'call')),
            outbox_id INTEGER REFERENCES sms_outbox(id),
            contacted_at TEXT NOT NULL,
            UNIQUE (campaign_id, customer_id, window_no)
        );
        CREATE INDEX campaign_contacts_at ON campaign_contacts(contacted_at);
        CREATE INDEX campaign_contacts_customer ON campaign_contacts(customer_id, contacted_at);
        CREATE TRIGGER campaign_contacts_no_delete BEFORE DELETE ON campaign_contacts
        BEGIN SELECT RAISE(ABORT, 'campaign_contacts is append-only'); END;

        -- The outbound call list: one row per contact to call (direct, or after an unanswered SMS), kept
        -- for preview dialing from the agent console (click-to-dial).
        CREATE TABLE campaign_calls (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            contact_id INTEGER NOT NULL UNIQUE REFERENCES campaign_contacts(id),
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            phone TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',     -- direct | no_reply_to_sms
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'claimed', 'done', 'skipped')),
            agent TEXT,
            outcome TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX campaign_calls_status ON campaign_calls(campaign_id, status, id);
        """
    )
