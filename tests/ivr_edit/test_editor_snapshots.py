"""Snapshots of the IVR editor at 80x24, zh_CN and en: the tree with the start node's form, the simulate
pane after a key, and a refused save. Update after a deliberate change with:
pytest tests/ivr_edit/test_editor_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest
from editor_pilot import editor, loaded, select, set_field, until

LOCALES = ["zh_CN", "en"]


@pytest.mark.parametrize("locale", LOCALES)
def test_tree_and_form(snap_compare, db_file, locale):
    async def ready(pilot) -> None:  # noqa: ANN001
        await loaded(pilot)
        await select(pilot, "main")

    assert snap_compare(editor(db_file, locale), terminal_size=(80, 24), run_before=ready)


@pytest.mark.parametrize("locale", LOCALES)
def test_simulate_pane(snap_compare, db_file, locale):
    async def walk(pilot) -> None:  # noqa: ANN001
        app = pilot.app
        await loaded(pilot)
        await pilot.press("f8")
        await until(pilot, lambda: app.sim is not None, "the simulation")
        await pilot.press("3")
        await until(pilot, lambda: app.sim.keys == ["3"], "key 3")
        await pilot.pause(0.1)

    assert snap_compare(editor(db_file, locale), terminal_size=(80, 24), run_before=walk)


@pytest.mark.parametrize("locale", LOCALES)
def test_refused_save(snap_compare, db_file, locale):
    async def refuse(pilot) -> None:  # noqa: ANN001
        app = pilot.app
        await loaded(pilot)
        await select(pilot, "station")
        await set_field(pilot, "f-number", "")
        await select(pilot, "welcome")
        await set_field(pilot, "f-next", "mian")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.id == "problems-modal", "the problems")
        await pilot.pause(0.1)

    assert snap_compare(editor(db_file, locale), terminal_size=(80, 24), run_before=refuse)
