"""A running FastAGI server uses a tree saved in the editor for the next call, without a restart (the
runtime's TreeSource compares the current tree id, one indexed max(id), at the start of every call)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from pathlib import Path

import pytest
from editor_pilot import editor, loaded, select, set_field, until
from ivr_edit_helpers import START, config_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "telephony"))
from ivr_agi_fakes import FakeCaller, play_asterisk  # noqa: E402

from cc.clock import FrozenClock  # noqa: E402
from cc.store.calls import CallStore, connect  # noqa: E402
from cc.telephony import server as agi_server  # noqa: E402


@pytest.fixture
def running(db_file):
    srv = agi_server.make_server(config_for(db_file), "127.0.0.1", 0)
    srv.runtime.clock = FrozenClock(START)
    srv.start()
    store = CallStore(connect(str(db_file)))
    yield srv, store
    assert srv.stop(drain_seconds=5)
    store.close()


def call(srv, uniqueid: str, keys: list[str], store: CallStore) -> dict:  # noqa: ANN001
    caller = FakeCaller(uniqueid=uniqueid, keys=list(keys))
    play_asterisk(socket.create_connection(("127.0.0.1", srv.port), timeout=5), caller)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = [r for r in store.list_calls(limit=50) if r["id"] == uniqueid and r["ended_at"]]
        if rows:
            return rows[0]
        time.sleep(0.02)
    raise AssertionError(f"call {uniqueid} has no record")


@pytest.mark.timeout(90)
def test_next_call_uses_the_tree_saved_in_the_editor(running, db_file):
    srv, store = running
    first = call(srv, "before", ["1"], store)
    assert first["tree_id"] == 1 and json.loads(first["path"])[:3] == ["welcome", "main", "order_agent"]
    assert first["result"] == "queued"

    async def edit() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, "main")
            await pilot.press("f2")  # a new branch 6 to a hang-up node
            await until(pilot, lambda: app.screen.id == "add-modal", "the add form")
            app.screen.query_one("#form-target").value = "closed"
            app.screen.query_one("#form-target").focus()
            await pilot.press("enter")
            await until(pilot, lambda: "closed" in app.draft.nodes, "the new node")
            await select(pilot, "closed")
            await set_field(pilot, "f-prompts", "goodbye")
            await select(pilot, "order_agent", "main")  # branch 1 now goes there
            await pilot.press("f4")
            await until(pilot, lambda: app.screen.id == "move-modal", "the move form")
            app.screen.query_one("#form-key").value = "7"
            app.screen.query_one("#form-key").focus()
            await pilot.press("enter")
            await until(pilot, lambda: "7" in app.draft.nodes["main"]["branches"], "the move")
            await select(pilot, "closed")
            await pilot.press("f4")
            await until(pilot, lambda: app.screen.id == "move-modal", "the move form")
            app.screen.query_one("#form-key").value = "1"
            app.screen.query_one("#form-key").focus()
            await pilot.press("enter")
            await until(pilot, lambda: app.draft.nodes["main"]["branches"].get("1") == "closed", "branch 1")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.tree_id == 2, "the save")

    asyncio.run(edit())
    second = call(srv, "after", ["1"], store)
    assert second["tree_id"] == 2
    assert json.loads(second["path"]) == ["welcome", "main", "closed"] and second["result"] == "completed"
    third = call(srv, "moved", ["7"], store)
    assert json.loads(third["path"])[:3] == ["welcome", "main", "order_agent"]
