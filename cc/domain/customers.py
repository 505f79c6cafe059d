"""Customers as the services hand them out."""

from __future__ import annotations

from dataclasses import dataclass, field

VIP = "vip"
BLACKLIST = "blacklist"
KNOWN_TAGS = (VIP, BLACKLIST)


@dataclass(frozen=True)
class CustomerView:
    id: int
    phone: str
    name: str
    address: str = ""
    zone: str = ""
    notes: str = ""
    tags: frozenset[str] = field(default_factory=frozenset)
    opt_out: bool = False
    birthday: str | None = None
    balance_fen: int = 0
    created_at: str = ""

    @property
    def is_vip(self) -> bool:
        return VIP in self.tags

    @property
    def is_blacklisted(self) -> bool:
        return BLACKLIST in self.tags


def normalize_tag(tag: str) -> str:
    return tag.strip().lower()
