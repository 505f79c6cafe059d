"""Staff accounts: roles, passwords (scrypt), sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cc.domain.users import Action, Role
from cc.errors import NotFound, Refused, UsageError
from cc.services.base import ServiceBase

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    try:
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt, validate=True), dklen=len(expected),
                                n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError, MemoryError):  # a damaged hash signs nobody in (and is no traceback)
        return False
    return hmac.compare_digest(actual, expected)


class UserService(ServiceBase):
    def add(self, name: str, *, role: str, password: str, display_name: str = "") -> dict:
        self.require(Action.MANAGE_USERS)
        if not _NAME.match(name or ""):
            raise UsageError(f"'{name}' is not a valid user name", "use 2-32 lowercase letters, digits, '.', '-' or '_', starting with a letter")
        try:
            role = Role(role)
        except ValueError:
            raise UsageError(f"unknown role '{role}'", f"choose one of {', '.join(r.value for r in Role)}") from None
        self._check_password(password)
        with self.store.transaction():
            if self.store.user(name) is not None:
                raise Refused(f"user '{name}' already exists", "use 'cc user passwd' to change the password")
            self.store.insert_user(name, display_name or name, role.value, hash_password(password), self.now_iso())
        return self.get(name)

    def get(self, name: str) -> dict:
        user = self.store.user(name)
        if user is None:
            raise NotFound(f"no user named '{name}'", "see 'cc user list'")
        return {k: v for k, v in user.items() if k != "password_hash"}

    def list(self) -> list[dict]:
        return [{k: v for k, v in u.items() if k != "password_hash"} for u in self.store.users()]

    def set_password(self, name: str, password: str) -> None:
        actor = self.actor()
        if actor.name != name:
            self.require(Action.MANAGE_USERS)
        self._check_password(password)
        with self.store.transaction():
            self.get(name)
            self.store.update_user(name, {"password_hash": hash_password(password)}, self.now_iso())

    def set_disabled(self, name: str, disabled: bool = True) -> dict:
        actor = self.require(Action.MANAGE_USERS)
        if disabled and actor.name == name:
            raise Refused("you cannot disable yourself", "ask another administrator")
        with self.store.transaction():
            self.get(name)
            self.store.update_user(name, {"disabled": int(disabled)}, self.now_iso())
        return self.get(name)

    def authenticate(self, name: str, password: str) -> dict:
        """Sign-in for the consoles. The same message for an unknown user and a wrong password."""
        user = self.store.user(name)
        if user is None or not verify_password(password, user["password_hash"]):
            raise Refused("wrong user name or password", "check the keyboard layout and Caps Lock")
        if user["disabled"]:
            raise Refused(f"user '{name}' is disabled", "ask an administrator")
        return self.get(name)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password or "") < 6:
            raise UsageError("password too short", "use at least 6 characters")
