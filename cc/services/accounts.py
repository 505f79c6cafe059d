"""Prepaid accounts. The balance moves only with a ledger entry, in the same transaction."""

from __future__ import annotations

import uuid

from cc.domain.users import Action
from cc.errors import Refused, UsageError
from cc.phone import normalize_phone
from cc.services.base import ServiceBase


class AccountService(ServiceBase):
    def balance_fen(self, phone: str) -> int:
        customer = self._customer(phone)
        return self.store.balance_fen(customer.id)

    def topup(self, phone: str, amount_fen: int, *, key: str | None = None, note: str = "") -> dict:
        """Add money. ``key`` makes a retried top-up (e.g. from a payment import) land once."""
        actor = self.require(Action.TOP_UP)
        if amount_fen <= 0:
            raise UsageError("a top-up must be more than 0.00", "give the amount in yuan, e.g. 100.00")
        key = f"topup:{key}" if key else f"topup:{uuid.uuid4().hex}"
        with self.store.transaction():
            customer = self._customer(phone)
            existing = self.store.ledger_entry_by_key(key)
            if existing is None:
                self.store.add_ledger_entry(
                    customer_id=customer.id, kind="topup", amount_fen=amount_fen, key=key, now=self.now_iso(),
                    actor=actor.name, note=note,
                )
            elif existing["customer_id"] != customer.id or existing["amount_fen"] != amount_fen:
                raise Refused(f"top-up key {key[6:]!r} was already used for another top-up", "use a new --key")
            return {"phone": customer.phone, "balance_fen": self.store.balance_fen(customer.id), "replayed": existing is not None}

    def ledger(self, phone: str, limit: int = 200) -> list[dict]:
        customer = self._customer(phone)
        return self.store.ledger(customer.id, limit)

    def _customer(self, phone: str):  # noqa: ANN202
        from cc.errors import NotFound

        customer = self.store.customer_by_phone(normalize_phone(phone))
        if customer is None:
            raise NotFound(f"no customer with phone {phone}", "add one with 'cc customer add'")
        return customer
