"""Named, append-only schema migrations. Never edit an applied migration: add a new module.

Each module registers its steps on ``MIGRATIONS``; they apply in the order the modules are imported here.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("cc")

# Import order is application order on a blank database.
from cc.store.migrations import m0001_core  # noqa: E402,F401
from cc.store.migrations import m0130_sms  # noqa: E402,F401
from cc.store.migrations import m0140_calls  # noqa: E402,F401
from cc.store.migrations import m0150_acd  # noqa: E402,F401
from cc.store.migrations import m0151_acd_leases  # noqa: E402,F401
from cc.store.migrations import m0180_complaints  # noqa: E402,F401
from cc.store.migrations import m0190_campaigns  # noqa: E402,F401
from cc.store.migrations import m0160_call_control  # noqa: E402,F401
from cc.store.migrations import m0210_console  # noqa: E402,F401
from cc.store.migrations import m0152_acd_ops  # noqa: E402,F401
from cc.store.migrations import m0230_qa  # noqa: E402,F401
from cc.store.migrations import m0231_qa_indexes  # noqa: E402,F401
from cc.store.migrations import m0220_wallboard  # noqa: E402,F401
from cc.store.migrations import m0240_order_path  # noqa: E402,F401
from cc.store.migrations import m0250_order_write_path  # noqa: E402,F401


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply what is pending; returns the names applied (empty when the schema was current)."""
    if not MIGRATIONS.pending(db):
        return []
    from cc.store.db import immediate

    # Under the write lock, so two processes starting on a blank file do not both migrate.
    with immediate(db):
        pending = [m.name for m in MIGRATIONS.pending(db)]
        MIGRATIONS.apply(db)
    return pending
