"""Roles and what each may do. The services check these; the UIs only hide what would be refused."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    EXPERT = "expert"


class Action(StrEnum):
    TAKE_ORDERS = "take orders"  # enter, amend, cancel before charge, confirm by phone
    REFUND = "refund orders"
    MANAGE_CATALOG = "manage products and stock"
    TOP_UP = "top up accounts"
    MANAGE_CUSTOMERS = "manage customers"
    MANAGE_USERS = "manage users"
    IMPORT_DAIRY = "import dairy files"
    HANDLE_COMPLAINTS = "handle complaints"  # open, note, assign, close
    ESCALATE_COMPLAINTS = "escalate complaints"
    RUN_CAMPAIGNS = "manage and run campaigns"
    VIEW_REPORTS = "view reports"
    BACK_UP = "back up the database"  # the copy holds every customer's data: the administrator's job


_ALL = frozenset(Action)
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: _ALL,
    Role.SUPERVISOR: _ALL - {Action.MANAGE_USERS, Action.BACK_UP},
    Role.AGENT: frozenset({Action.TAKE_ORDERS, Action.MANAGE_CUSTOMERS, Action.TOP_UP, Action.HANDLE_COMPLAINTS}),
    Role.EXPERT: frozenset({Action.TAKE_ORDERS, Action.MANAGE_CUSTOMERS, Action.TOP_UP, Action.HANDLE_COMPLAINTS}),
}


def allowed(role: Role | str, action: Action) -> bool:
    return action in PERMISSIONS[Role(role)]


def roles_allowed(action: Action) -> list[Role]:
    return [role for role in Role if action in PERMISSIONS[role]]
