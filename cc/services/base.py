"""What every service shares: the store, the clock, the config, and who is acting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cc.clock import Clock
from cc.config import Config
from cc.domain.timestamps import iso, local_date
from cc.domain.users import Action, Role, allowed, roles_allowed
from cc.errors import NotFound, PermissionDenied, Refused

if TYPE_CHECKING:
    from cc.store.core import SqliteStore

SITE_OPERATOR = "operator"  # who acts when the CLI is run without --user: the site's administrator


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role


class ServiceBase:
    def __init__(self, store: SqliteStore, clock: Clock, config: Config, acting_user: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self.config = config
        self.acting_user = acting_user
        self._zone = ZoneInfo(config.timezone)
        self._actor: Actor | None = None

    # time
    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return iso(self.clock.now())

    def today(self) -> date:
        return local_date(self.clock.now(), self._zone)

    def later_iso(self, **delta: float) -> str:
        return iso(self.clock.now() + timedelta(**delta))

    # who
    def actor(self) -> Actor:
        if self._actor is None:
            if self.acting_user is None:
                self._actor = Actor(SITE_OPERATOR, Role.ADMIN)
            else:
                user = self.store.user(self.acting_user)
                if user is None:
                    raise NotFound(f"no user named '{self.acting_user}'", "see 'cc user list', or drop --user / CC_USER")
                if user["disabled"]:
                    raise Refused(f"user '{self.acting_user}' is disabled", "an administrator can re-enable it")
                self._actor = Actor(user["name"], Role(user["role"]))
        return self._actor

    def require(self, action: Action) -> Actor:
        actor = self.actor()
        if not allowed(actor.role, action):
            who = " or ".join(r.value for r in roles_allowed(action))
            raise PermissionDenied(
                f"{actor.name} is {'an' if actor.role.value[0] in 'aeiou' else 'a'} {actor.role.value} and may not {action.value}",
                f"ask a {who} to do it",
            )
        return actor
