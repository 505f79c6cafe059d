"""``cc backup``: a consistent, checked copy of the database, safe to take while the call center runs.

The copy is written beside the target under a temporary name, checked (``PRAGMA integrity_check``) and only
then renamed over the target, so a half-written or failed backup never replaces a good one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cc.domain.users import Action
from cc.errors import Refused, UsageError
from cc.services.base import ServiceBase


class BackupService(ServiceBase):
    def backup(self, target: str | Path, *, force: bool = False) -> dict:
        self.require(Action.BACK_UP)
        target = Path(target)
        live = self.store.live_file()
        if live is None:
            raise UsageError("this database is in memory: there is no file to back up", "give --db FILE")
        if target.is_dir():
            raise UsageError(f"{target} is a folder", f"give a file name, e.g. {target / 'cc-backup.db'}")
        if not target.parent.is_dir():
            raise UsageError(f"cannot write {target}: folder {target.parent} does not exist", "create the folder first")
        if target.resolve() == live:
            raise UsageError(f"{target} is the live database itself", "back it up to another file")
        if target.exists() and not force:
            raise Refused(f"{target} already exists", "give another file name, or --force to replace it")
        started = time.perf_counter()
        try:
            verdict, counts, size = self.store.write_copy(target)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}", "check the folder's free space and permissions") from None
        if verdict != "ok":
            raise Refused(f"the copy failed its integrity check: {verdict}",
                          "the live database may be damaged: run 'sqlite3 FILE \"PRAGMA integrity_check\"' on it")
        return {"file": str(target), "bytes": size, "seconds": round(time.perf_counter() - started, 3),
                "integrity": verdict, **counts}


def backup_service(services: Any) -> BackupService:
    """The service over the services' connection (composition, like ``container.build_services``)."""
    from cc.store.backup import BackupStore

    return BackupService(BackupStore(services.db), services.clock, services.config, services.acting_user)
