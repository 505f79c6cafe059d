"""Products and the dairy's stock."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cc.domain.users import Action
from cc.errors import NotFound, Refused, UsageError
from cc.services.base import ServiceBase

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class StockImportResult:
    updated: int
    errors: list[tuple[int, str]]


class CatalogService(ServiceBase):
    def add_product(self, sku: str, *, name: str, price_fen: int, unit: str = "", active: bool = True) -> dict:
        self.require(Action.MANAGE_CATALOG)
        if not _SKU.match(sku or ""):
            raise UsageError(f"'{sku}' is not a valid SKU", "use letters, digits, '-', '_' or '.', up to 32 characters")
        if not name.strip():
            raise UsageError("product name is empty", "give --name")
        if price_fen < 0:
            raise UsageError("price cannot be negative", "give --price in yuan, e.g. 5.00")
        with self.store.transaction():
            self.store.upsert_product(sku, name.strip(), unit.strip(), price_fen, active, self.now_iso())
        return self.store.product(sku)

    def product(self, sku: str) -> dict:
        product = self.store.product(sku)
        if product is None:
            raise NotFound(f"unknown product SKU '{sku}'", "see 'cc product list'")
        return product

    def products(self, include_inactive: bool = False) -> list[dict]:
        return self.store.products(include_inactive)

    def set_stock(self, sku: str, quantity: int, *, note: str = "") -> dict:
        """Set the quantity on hand. Reservations stay; a quantity below what is reserved is refused."""
        actor = self.require(Action.MANAGE_CATALOG)
        if quantity < 0:
            raise UsageError("stock quantity cannot be negative", "give 0 or more")
        with self.store.transaction():
            self.product(sku)
            self._set(sku, quantity, kind="set", actor=actor.name, note=note)
        return self.product(sku)

    def import_stock(self, records: list[tuple[int, dict]], *, skip_bad: bool = False) -> StockImportResult:
        """The dairy's stock file: ``sku,quantity`` per row."""
        actor = self.require(Action.IMPORT_DAIRY)
        good: list[tuple[str, int]] = []
        errors: list[tuple[int, str]] = []
        for line, row in records:
            sku = (row.get("sku") or "").strip()
            raw = (row.get("quantity") or "").strip()
            if self.store.product(sku) is None:
                errors.append((line, f"unknown SKU '{sku}'"))
            elif not raw.isdigit():
                errors.append((line, f"quantity '{raw}' is not a whole number of 0 or more"))
            elif int(raw) < (reserved := self.store.stock_row(sku)["reserved"]):
                errors.append((line, f"{sku}: {raw} on hand is less than the {reserved} reserved by open orders"))
            else:
                good.append((sku, int(raw)))
        if errors and not skip_bad:
            return StockImportResult(0, errors)
        with self.store.transaction():
            for sku, quantity in good:
                self._set(sku, quantity, kind="import", actor=actor.name, note="stock import")
        return StockImportResult(len(good), errors)

    def _set(self, sku: str, quantity: int, *, kind: str, actor: str, note: str) -> None:
        row = self.store.stock_row(sku)
        if quantity < row["reserved"]:
            raise Refused(
                f"{sku}: {quantity} on hand is less than the {row['reserved']} reserved by open orders",
                "cancel or let those orders expire first, or set at least the reserved quantity",
            )
        self.store.change_stock(
            sku, quantity_delta=quantity - row["quantity"], kind=kind, now=self.now_iso(), actor=actor, note=note
        )
