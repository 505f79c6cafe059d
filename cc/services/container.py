"""The composition root: the one place adapters are wired into services.

Tests call ``build_services(config, db=..., clock=...)`` with their own database file and a frozen clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cc.clock import Clock, SystemClock
from cc.config import Config

if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class Services:
    config: Config
    db: Any  # sqlite_utils.Database; typed loosely so services stay free of sqlite_utils imports
    clock: Clock
    acting_user: str | None = None


def build_services(
    config: Config,
    *,
    db: sqlite_utils.Database | None = None,
    clock: Clock | None = None,
    acting_user: str | None = None,
) -> Services:
    from cc.store.db import open_db

    database = db if db is not None else open_db(config.db)
    return Services(config=config, db=database, clock=clock or SystemClock(), acting_user=acting_user)
