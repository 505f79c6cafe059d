"""Snapshots of the supervisor dashboard on fixed data (a frozen ``Wallboard``): the wallboard in zh_CN and
en at 80x24 and 120x40, the charts and the gateway tab, the light theme, help. Update after a deliberate
change with: pytest tests/supervisor/test_supervisor_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest
from supervisor_helpers import PASSWORD, SUPERVISOR, FixedWallboard, config_for, until

from cc.tui.supervisor_app import make_supervisor_app, supervisor_factory

SIZES = [(80, 24), (120, 40)]
LOCALES = ["zh_CN", "en"]


def _app(db_file, clock, locale, **kw):
    config = config_for(db_file, locale)
    board = FixedWallboard()
    factory = supervisor_factory(config, clock, control=None, wallboard=lambda services, acd: board)
    return make_supervisor_app(config, factory=factory, user=SUPERVISOR, password=PASSWORD, poll_seconds=60, **kw)


def _after(*keys):
    async def run_before(pilot) -> None:
        await until(pilot, lambda: pilot.app.polls > 0)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.1)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("locale", LOCALES)
def test_wallboard(snap_compare, db_file, clock, locale, size):
    assert snap_compare(_app(db_file, clock, locale), terminal_size=size, run_before=_after())


@pytest.mark.parametrize(("locale", "size"), [("zh_CN", (80, 24)), ("en", (120, 40))], ids=["zh_CN-80x24", "en-120x40"])
def test_charts(snap_compare, db_file, clock, locale, size):
    assert snap_compare(_app(db_file, clock, locale), terminal_size=size, run_before=_after("3"))


@pytest.mark.parametrize("locale", LOCALES)
def test_callers_light(snap_compare, db_file, clock, locale):
    assert snap_compare(_app(db_file, clock, locale, dark=False), terminal_size=(120, 40), run_before=_after("2"))


def test_gateway_health(snap_compare, db_file, clock):
    assert snap_compare(_app(db_file, clock, "zh_CN"), terminal_size=(80, 24), run_before=_after("4"))


@pytest.mark.parametrize("locale", LOCALES)
def test_help(snap_compare, db_file, clock, locale):
    assert snap_compare(_app(db_file, clock, locale), terminal_size=(80, 24), run_before=_after("f1"))
