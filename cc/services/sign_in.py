"""Sign-in for the consoles (the agent console, the supervisor dashboard): both fields needed, the user's
password checked (``UsersService.authenticate``: one message for an unknown user and a wrong password, a
disabled user refused), then the account's role."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from cc.errors import PermissionDenied, UsageError


def authenticate(users: Any, name: str, password: str, *, roles: Collection[str], role_text: str,
                 hint: str) -> dict:
    """The account of ``name`` if the password is right and its role is one of ``roles``; else
    PermissionDenied '<name> is <role>, not <role_text>' with ``hint``."""
    name = (name or "").strip()
    if not name or not password:
        raise UsageError("enter your user name and password", "both fields are needed to sign in")
    account = users.authenticate(name, password)
    if account["role"] not in roles:
        raise PermissionDenied(f"{name} is {account['role']}, not {role_text}", hint)
    return account
