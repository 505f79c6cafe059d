"""The composition root: the one place adapters are wired into services.

Tests call ``build_services(config, db=..., clock=...)`` with their own database file and a frozen clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cc.clock import Clock, SystemClock
from cc.config import Config

if TYPE_CHECKING:
    import sqlite_utils

    from cc.services.accounts import AccountService
    from cc.services.catalog import CatalogService
    from cc.services.customers import CustomerService
    from cc.services.dairy import DairyService
    from cc.services.orders import OrderService
    from cc.services.sms import SmsService
    from cc.services.users import UserService


@dataclass
class Services:
    config: Config
    db: Any  # the sqlite_utils.Database, for adapters that need their own store over the same connection
    clock: Clock
    store: Any
    customers: CustomerService
    catalog: CatalogService
    accounts: AccountService
    orders: OrderService
    dairy: DairyService
    users: UserService
    acting_user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    sms: SmsService | None = None
    complaints: Any = None  # ComplaintService
    campaigns: Any = None  # CampaignService
    reports: Any = None  # ReportService
    wallboard: Any = None  # WallboardService (the supervisor's live view)
    owns_db: bool = field(default=False, repr=False)  # build_services opened the connection: close() closes it

    def close(self) -> None:
        """Close the database connection ``build_services`` opened for these services (three descriptors in
        WAL mode: the file, -wal and -shm). A connection passed in with ``db=`` stays open: whoever opened it
        closes it. Services hold reference cycles, so an unclosed connection lingers until a full garbage
        collection. The reports' own read-only connection (opened on first use) is closed in any case.
        Safe to call twice."""
        report_store = getattr(self.reports, "reports", None)
        if report_store is not None:
            report_store.close()
        if self.owns_db:
            self.owns_db = False
            self.db.conn.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_services(
    config: Config,
    *,
    db: sqlite_utils.Database | None = None,
    clock: Clock | None = None,
    acting_user: str | None = None,
    dairy_link: object | None = None,
    rng: random.Random | None = None,
) -> Services:
    from cc.store.db import open_db

    database = db if db is not None else open_db(config.db)
    try:
        return _compose(config, database, owns_db=db is None, clock=clock, acting_user=acting_user,
                        dairy_link=dairy_link, rng=rng)
    except BaseException:  # e.g. a ConfigError from the sms or dairy section: the connection opened here closes
        if db is None:
            database.conn.close()
        raise


def _compose(config: Config, database: Any, *, owns_db: bool, clock: Clock | None, acting_user: str | None,
             dairy_link: object | None, rng: random.Random | None) -> Services:
    from cc.dairy_link import link_from_config
    from cc.services.accounts import AccountService
    from cc.services.catalog import CatalogService
    from cc.services.customers import CustomerService
    from cc.services.dairy import DairyService
    from cc.services.orders import OrderService
    from cc.services.sms import SmsService
    from cc.services.users import UserService
    from cc.store.core import SqliteStore

    store = SqliteStore(database)
    clock = clock or SystemClock()
    common = dict(store=store, clock=clock, config=config, acting_user=acting_user)
    dairy = DairyService(link=dairy_link or link_from_config(config), **common)
    orders = OrderService(dairy=dairy, rng=rng, **common)
    customers = CustomerService(**common)
    from cc.store.sms import SmsStore

    sms = SmsService(SmsStore(database), clock, config, orders=orders, customers=customers, acting_user=acting_user)
    orders.on_awaiting_confirmation = sms.on_awaiting_confirmation  # the confirmation SMS, in the order's transaction
    services = Services(
        config=config, db=database, clock=clock, store=store,
        customers=customers, catalog=CatalogService(**common), accounts=AccountService(**common),
        orders=orders, dairy=dairy, users=UserService(**common), acting_user=acting_user, sms=sms,
        owns_db=owns_db,
    )
    _add_care_and_reports(services, database, common)
    return services


def _add_care_and_reports(services: Services, database: Any, common: dict) -> None:
    """Complaints, campaigns and reports (issue 8), over the same connection."""
    from cc.services.complaints import ComplaintService
    from cc.store.complaints import ComplaintStore

    services.complaints = ComplaintService(complaints=ComplaintStore(database), sms=services.sms, **common)
    from cc.services.campaigns import CampaignService
    from cc.store.campaigns import CampaignStore

    services.campaigns = CampaignService(campaigns=CampaignStore(database), sms=services.sms, **common)
    from cc.services.reports import ReportService
    from cc.store.reports import ReportStore

    services.reports = ReportService(reports=ReportStore(database), **common)
    from cc.services.wallboard import WallboardService
    from cc.store.wallboard import WallboardStore

    services.wallboard = WallboardService(wallboard=WallboardStore(database), **common)
