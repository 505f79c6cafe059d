"""Undo for the agent console's forms: the last action on a form, one step at a time, with a sentence
saying what the next undo will take back.

A step keeps the form's content from before the action (whatever value the form uses: the order form's
``FormState``, a modal's dict of fields) and a description (a catalog key and its values), rendered in the
console's language when shown, so switching the language re-renders it. Typing in one field is one
action: the edits of a field merge into one step until another action, or until the field loses focus.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cc.i18n import t


@dataclass(frozen=True)
class UndoStep:
    before: Any  # the form's content before the action
    key: str  # catalog key of the description: undo_add, undo_remove, undo_qty, undo_field
    values: tuple[tuple[str, str], ...] = ()  # its placeholders; "field" is a catalog key, "old"/"new" may be
    merge: str = ""  # a field being typed in: its edits merge into this step

    def text(self, locale: str) -> str:
        values = dict(self.values)
        if "field" in values:
            values["field"] = t(values["field"], locale)
        for name in ("old", "new"):
            if name in values:
                values[name] = t(values[name], locale) if values[name] in ("daily", "weekly") else values[name] or "-"
        return t(self.key, locale).format(**values)


class UndoLog:
    def __init__(self, limit: int = 30) -> None:
        self.limit = limit
        self.steps: list[UndoStep] = []
        self._merging = ""

    def record(self, before: Any, key: str, merge: str = "", /, **values: str) -> None:
        """An action is about to change the form from ``before``. Edits of the field being typed in merge:
        the step keeps the oldest ``before`` and ``old`` value and takes the newest ``new``."""
        top = self.steps[-1] if self.steps else None
        if merge and top is not None and top.merge == merge and self._merging == merge:
            merged = dict(top.values)
            merged.update({k: v for k, v in values.items() if k != "old"})
            self.steps[-1] = replace(top, values=tuple(merged.items()))
        else:
            self.steps = (self.steps + [UndoStep(before, key, tuple(values.items()), merge)])[-self.limit:]
        self._merging = merge

    def stop_merging(self) -> None:
        """The field lost focus (or another action came): its next edit is a new step."""
        self._merging = ""

    def pop(self) -> UndoStep | None:
        self._merging = ""
        return self.steps.pop() if self.steps else None

    def clear(self) -> None:
        self.steps, self._merging = [], ""

    def hint(self, locale: str) -> str:
        """What ctrl+z takes back now ("" when nothing)."""
        if not self.steps:
            return ""
        return t("undo_hint", locale).format(what=self.steps[-1].text(locale))

    def __len__(self) -> int:
        return len(self.steps)
