"""Driving the IVR editor in tests: wait on a condition (bounded), pick a row of the tree, fill a modal."""

from __future__ import annotations

import time
from typing import Any

from ivr_edit_helpers import START, config_for

from cc.clock import FrozenClock
from cc.tui.ivr_editor import make_ivr_editor_app


def editor(db_file, locale: str = "en", **kw: Any):  # noqa: ANN001, ANN201
    return make_ivr_editor_app(config_for(db_file, locale), clock=FrozenClock(START), locale=locale, **kw)


async def until(pilot, predicate, what: str = "condition", timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def loaded(pilot) -> None:  # noqa: ANN001
    app = pilot.app
    await until(pilot, lambda: app.draft is not None, "the tree to load")
    await until(pilot, lambda: app.query_one("#node-form").nid is not None, "the node form")
    await pilot.pause(0.05)


async def select(pilot, node: str, parent: str | None = None) -> None:  # noqa: ANN001
    """Put the tree's cursor on ``node`` (reached from ``parent`` when given; not a reference)."""
    from textual.widgets import Tree

    app = pilot.app
    tree = app.query_one("#outline", Tree)

    def find(item):  # noqa: ANN001, ANN202
        row = item.data
        if row is not None and row.node == node and not row.ref and (parent is None or row.parent == parent):
            return item
        for child in item.children:
            found = find(child)
            if found is not None:
                return found
        return None

    target = find(tree.root)
    assert target is not None, f"no row for {node}"
    tree.move_cursor(target)
    tree.focus()
    await until(pilot, lambda: app.selected is not None and app.selected.node == node, f"{node} selected")
    await until(pilot, lambda: app.query_one("#node-form").nid == node, f"{node}'s form")
    await pilot.pause(0.05)


async def set_field(pilot, widget_id: str, value: str) -> None:  # noqa: ANN001
    """Type into a field of the node form and press Enter (which applies it)."""
    app = pilot.app
    await until(pilot, lambda: bool(app.query(f"#{widget_id}")), widget_id)
    field = app.query_one(f"#{widget_id}")
    field.focus()
    field.value = value
    await pilot.press("enter")
    await pilot.pause(0.05)


async def fill_modal(pilot, modal_id: str, values: dict[str, str], select: dict[str, str] | None = None) -> None:  # noqa: ANN001
    app = pilot.app
    await until(pilot, lambda: app.screen.id == modal_id, modal_id)
    for key, value in (select or {}).items():
        app.screen.query_one(f"#form-{key}").value = value
    last = None
    for key, value in values.items():
        last = app.screen.query_one(f"#form-{key}")
        last.value = value
    assert last is not None
    last.focus()
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.id != modal_id, f"{modal_id} to close")
    await pilot.pause(0.05)


def screen_text(app) -> str:  # noqa: ANN001
    return " ".join(str(w.render()) for w in app.screen.query("Static"))
