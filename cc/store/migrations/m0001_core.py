"""Customers, catalogue and stock, accounts and the ledger, orders and their history, users, dairy outbox."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0001_core")
def core(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            phone TEXT NOT NULL UNIQUE,          -- E.164, normalised at the edge
            name TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            zone TEXT NOT NULL DEFAULT '',       -- delivery zone / route
            notes TEXT NOT NULL DEFAULT '',
            opt_out INTEGER NOT NULL DEFAULT 0,  -- no marketing (order confirmations still go out)
            birthday TEXT,                       -- YYYY-MM-DD, for customer-care campaigns
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX customers_name ON customers(name);

        CREATE TABLE customer_tags (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (customer_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX customer_tags_tag ON customer_tags(tag);

        CREATE TABLE products (
            sku TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '',
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0),
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE stock (
            sku TEXT PRIMARY KEY REFERENCES products(sku),
            quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
            reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
            updated_at TEXT NOT NULL
        );

        -- Append-only: every change of quantity or reservation, with its cause.
        CREATE TABLE stock_events (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL REFERENCES products(sku),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- set | import | reserve | release | consume | restock
            quantity_delta INTEGER NOT NULL DEFAULT 0,
            reserved_delta INTEGER NOT NULL DEFAULT 0,
            order_id INTEGER REFERENCES orders(id),
            actor TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX stock_events_sku ON stock_events(sku, at);

        -- The balance is derivable from the ledger; it is also kept here, in the same transaction as
        -- each ledger entry, so the CHECK makes a negative balance impossible.
        CREATE TABLE accounts (
            customer_id INTEGER PRIMARY KEY REFERENCES customers(id),
            balance_fen INTEGER NOT NULL DEFAULT 0 CHECK (balance_fen >= 0),
            created_at TEXT NOT NULL
        );

        -- Append-only money history. Every entry carries an idempotency key: replaying a top-up, a charge
        -- or a refund with the same key changes nothing.
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES accounts(customer_id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('topup', 'charge', 'refund', 'adjustment')),
            amount_fen INTEGER NOT NULL,         -- signed: top-ups and refunds > 0, charges < 0
            order_id INTEGER REFERENCES orders(id),
            idempotency_key TEXT NOT NULL UNIQUE,
            actor TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX ledger_customer ON ledger(customer_id, id);
        CREATE INDEX ledger_order ON ledger(order_id);

        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,           -- short, digits only, with a check digit: easy to read out
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            status TEXT NOT NULL,
            start_date TEXT NOT NULL,            -- YYYY-MM-DD, local
            frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
            deliveries INTEGER NOT NULL CHECK (deliveries > 0),
            end_date TEXT NOT NULL,              -- date of the last planned delivery
            total_fen INTEGER NOT NULL CHECK (total_fen >= 0),
            deliveries_done INTEGER NOT NULL DEFAULT 0,
            refunded_fen INTEGER NOT NULL DEFAULT 0,
            expires_at TEXT,                     -- awaiting_confirmation expires here
            call_id TEXT,                        -- the call it was taken on, when there was one
            created_by TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX orders_customer ON orders(customer_id, status);
        CREATE INDEX orders_status ON orders(status, expires_at);

        CREATE TABLE order_lines (
            order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL REFERENCES products(sku),
            quantity INTEGER NOT NULL CHECK (quantity > 0),   -- per delivery
            price_fen INTEGER NOT NULL CHECK (price_fen >= 0), -- unit price when ordered
            PRIMARY KEY (order_id, line_no)
        );

        -- Append-only: who moved the order from which state to which, when and why.
        CREATE TABLE order_events (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX order_events_order ON order_events(order_id, id);
        CREATE INDEX order_events_at ON order_events(at);

        -- Deliveries the dairy reports back; one row per delivery made (idempotent re-import).
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            delivered_on TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            UNIQUE (order_id, delivered_on)
        );

        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'expert')),
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        -- Messages for the dairy: stored with the charge, delivered after commit, retried with backoff.
        CREATE TABLE dairy_outbox (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            kind TEXT NOT NULL,                  -- order | cancel
            idempotency_key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,               -- JSON
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until TEXT,
            last_error TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX dairy_outbox_due ON dairy_outbox(status, next_attempt_at);
        CREATE INDEX dairy_outbox_lease ON dairy_outbox(status, lease_until);
        CREATE INDEX dairy_outbox_order ON dairy_outbox(order_id);
        """
    )
