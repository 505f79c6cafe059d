"""``cc init``."""

from __future__ import annotations

import typer

from cc.commands._common import config, info


def init(ctx: typer.Context) -> None:
    """Create the database, or bring an existing one up to date. Safe to run again."""
    from cc.store.db import open_db
    from cc.store.migrations import apply_migrations

    path = config(ctx).db
    db = open_db(path, migrate=False)
    try:
        applied = apply_migrations(db)
    finally:
        db.conn.close()
    if applied:
        info(f"{path}: applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        info(f"{path}: schema is up to date")
