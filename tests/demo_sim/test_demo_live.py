"""`cc demo` (interactive): the supervisor dashboard opens on the live simulated center (after a warm-up of
the minutes before now), signed in as the demo supervisor, shows the center moving, and quitting it stops the
simulation cleanly."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from cc.demo import AGENTS, live_dashboard, seed_center, start_center
from cc.domain.timestamps import iso
from cc.store.db import open_db


async def _until(pilot, predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_cc_demo_opens_the_dashboard_on_the_live_center_and_quits_cleanly(tmp_path: Path) -> None:
    from cc.tui.supervisor_app import WallboardScreen

    config = seed_center(tmp_path / "demo.db", seed=5)
    sim = start_center(config, seed=4, calls_per_minute=8.0, speed=60.0, warm_up_minutes=3)
    try:
        app = live_dashboard(config, sim, locale="en", poll_seconds=0.1)

        async def scenario() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await _until(pilot, lambda: isinstance(app.screen, WallboardScreen) and app.polls > 0)
                assert app.account and app.account["name"] == "wangfang"
                assert app.screen.query_one("#sv-agents").row_count == len(AGENTS)
                # The center moves under the dashboard: answered calls and the agents' work show in its snapshot.
                await _until(pilot, lambda: app.board is not None and app.board.totals.answered >= 2
                             and sum(a.calls_today for a in app.board.agents) >= 2)
                assert not any(a.stale for a in app.board.agents)
                await pilot.press("ctrl+q")
            assert app.return_code in (0, None)

        asyncio.run(scenario())
    finally:
        summary = sim.stop(60)
    assert summary.errors == []
    assert summary.calls >= 3
    assert sim.threads_alive() == []
    assert [t.name for t in threading.enumerate() if t.name.startswith("cc-sim")] == []
    db = open_db(config.db)
    try:  # the warm-up played the minutes before the live run: its calls are there, all ended
        earlier = list(db.query("SELECT id, ended_at FROM calls WHERE started_at < ?", [iso(sim.clock.start)]))
    finally:
        db.conn.close()
    assert len(earlier) >= 5 and all(row["ended_at"] for row in earlier)
