"""Call records: list and show (one row per call, its event log, what the caller left)."""

from __future__ import annotations

import json
from typing import Any

from cc.errors import NotFound


class CallService:
    def __init__(self, store: Any) -> None:
        self.store = store

    def list(self, limit: int = 50, caller: str | None = None, result: str | None = None) -> list[dict]:
        if caller:
            from cc.services.callers import normalize_caller_id

            caller = normalize_caller_id(caller)
        return [_decode(row) for row in self.store.list_calls(limit=limit, caller=caller, result=result)]

    def show(self, call_id: str) -> dict:
        row = self.store.get_call(call_id)
        if row is None:
            raise NotFound(f"no call {call_id}", "see 'cc call list' for the call ids")
        call = _decode(row)
        call["events"] = [{**e, "detail": json.loads(e["detail"] or "{}")} for e in self.store.events(call_id)]
        call.update(self.store.related(call_id))
        return call


def _decode(row: dict) -> dict:
    out = dict(row)
    out["path"] = json.loads(out.get("path") or "[]")
    out["vip"] = bool(out.get("vip"))
    out["blacklisted"] = bool(out.get("blacklisted"))
    return out
