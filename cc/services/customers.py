"""Customers: add, edit, find, import."""

from __future__ import annotations

from dataclasses import dataclass

from cc.domain.customers import KNOWN_TAGS, CustomerView, normalize_tag
from cc.domain.users import Action
from cc.errors import NotFound, Refused, UsageError
from cc.phone import normalize_phone
from cc.services.base import ServiceBase


@dataclass(frozen=True)
class ImportResult:
    loaded: int
    updated: int
    errors: list[tuple[int, str]]  # (line number, message)


class CustomerService(ServiceBase):
    def find_by_phone(self, phone: str) -> CustomerView | None:
        return self.store.customer_by_phone(normalize_phone(phone))

    def get(self, phone: str) -> CustomerView:
        customer = self.find_by_phone(phone)
        if customer is None:
            raise NotFound(f"no customer with phone {phone}", "add one with 'cc customer add --phone ... --name ...'")
        return customer

    def search(self, text: str | None = None, tag: str | None = None, limit: int = 200) -> list[CustomerView]:
        return self.store.search_customers(text, normalize_tag(tag) if tag else None, limit)

    def add(
        self, *, phone: str, name: str, address: str = "", zone: str = "", tags: list[str] | None = None,
        notes: str = "", birthday: str | None = None,
    ) -> CustomerView:
        self.require(Action.MANAGE_CUSTOMERS)
        phone = normalize_phone(phone)
        fields = self._checked(name=name, address=address, zone=zone, notes=notes, birthday=birthday)
        tag_set = self._tags(tags or [])
        with self.store.transaction():
            if self.store.customer_by_phone(phone) is not None:
                raise Refused(f"a customer with phone {phone} already exists", "use 'cc customer edit' to change it")
            customer_id = self.store.insert_customer({"phone": phone, **fields}, tag_set, self.now_iso())
        return self.store.customer_by_id(customer_id)

    def edit(
        self, phone: str, *, name: str | None = None, address: str | None = None, zone: str | None = None,
        notes: str | None = None, birthday: str | None = None, add_tags: list[str] = (), remove_tags: list[str] = (),
        opt_out: bool | None = None,
    ) -> CustomerView:
        self.require(Action.MANAGE_CUSTOMERS)
        changes = {k: v for k, v in dict(name=name, address=address, zone=zone, notes=notes, birthday=birthday).items() if v is not None}
        if changes:
            changes = self._checked(partial=True, **changes)
        if opt_out is not None:
            changes["opt_out"] = int(opt_out)
        add_set, remove_set = self._tags(list(add_tags)), self._tags(list(remove_tags))
        with self.store.transaction():
            customer = self.get(phone)
            self.store.update_customer(customer.id, changes, self.now_iso())
            if add_set or remove_set:
                self.store.set_tags(customer.id, (customer.tags | add_set) - remove_set)
            return self.store.customer_by_id(customer.id)

    def set_opt_out(self, phone: str, opt_out: bool) -> CustomerView:
        """Marketing opt-out (the customer texted TD/退订); order confirmations still go out."""
        with self.store.transaction():
            customer = self.get(phone)
            self.store.update_customer(customer.id, {"opt_out": int(opt_out)}, self.now_iso())
            return self.store.customer_by_id(customer.id)

    def import_rows(self, records: list[tuple[int, dict]], *, skip_bad: bool = False) -> ImportResult:
        """Load customers from parsed CSV rows ``(line number, row)``; existing phones are updated.

        With ``skip_bad`` the good rows load and the bad ones are reported; otherwise one bad row loads nothing.
        """
        self.require(Action.MANAGE_CUSTOMERS)
        checked: list[tuple[str, dict, frozenset[str], set[str]]] = []
        errors: list[tuple[int, str]] = []
        seen: set[str] = set()
        for line, row in records:
            try:
                phone = normalize_phone(row.get("phone") or "")
                if phone in seen:
                    raise UsageError(f"phone {phone} appears twice in the file")
                seen.add(phone)
                fields = self._checked(
                    name=row.get("name") or "", address=row.get("address") or "", zone=row.get("zone") or "",
                    notes=row.get("notes") or "", birthday=(row.get("birthday") or None),
                )
                tags = self._tags([t for t in (row.get("tags") or "").replace(";", ",").split(",") if t.strip()])
                present = {column for column in ("address", "zone", "notes", "birthday") if column in row}
                checked.append((phone, fields, tags, present))
            except UsageError as exc:
                errors.append((line, exc.message))
        if errors and not skip_bad:
            return ImportResult(0, 0, errors)
        loaded = updated = 0
        now = self.now_iso()
        with self.store.transaction():
            for phone, fields, tags, present in checked:
                existing = self.store.customer_by_phone(phone)
                if existing is None:
                    self.store.insert_customer({"phone": phone, **fields}, tags, now)
                    loaded += 1
                else:
                    # Only the columns the file has: a file of phone,name must not blank the addresses.
                    self.store.update_customer(existing.id, {k: v for k, v in fields.items() if k == "name" or k in present}, now)
                    self.store.set_tags(existing.id, existing.tags | tags)
                    updated += 1
        return ImportResult(loaded, updated, errors)

    @staticmethod
    def _checked(partial: bool = False, **fields: str | None) -> dict:
        name = fields.get("name")
        if name is not None or not partial:
            if not (name or "").strip():
                raise UsageError("customer name is empty", "give --name")
            fields["name"] = name.strip()
        birthday = fields.get("birthday")
        if birthday:
            from datetime import date

            try:
                date.fromisoformat(birthday)
            except ValueError:
                raise UsageError(f"birthday '{birthday}' is not a date", "write it as YYYY-MM-DD") from None
        return {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}

    @staticmethod
    def _tags(tags: list[str]) -> frozenset[str]:
        result = frozenset(normalize_tag(t) for t in tags if t.strip())
        unknown = [t for t in result if t not in KNOWN_TAGS and not t.replace("-", "").replace("_", "").isalnum()]
        if unknown:
            raise UsageError(f"bad tag {unknown[0]!r}", f"tags are words such as {', '.join(KNOWN_TAGS)}")
        return result
