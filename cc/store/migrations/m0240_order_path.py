"""The order path writes fewer index pages (issue 2's 1,000 orders/s): every index on a history or outbox
table costs a WAL page per commit, so indexes no query needs go.

- ``stock_events_sku``: no query reads stock_events by SKU (the table is history only; a few dozen SKUs
  would make such an index barely selective anyway). Two pages per order (reserve + consume).
- ``dairy_outbox_lease`` (status, lease_until): only the claim of an expired lease reads it
  (``status = 'sending' AND lease_until <= now``), and ``dairy_outbox_due`` (status, next_attempt_at)
  already finds the few rows being sent; SQLite's planner picks that one anyway. One page per order.
"""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0240_order_path")
def order_path(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        DROP INDEX IF EXISTS stock_events_sku;
        DROP INDEX IF EXISTS dairy_outbox_lease;
        """
    )
