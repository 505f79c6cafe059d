"""The IVR editor driven by keys (Pilot): edit a branch, a failed check names the node and saves nothing,
save, export, re-import equal; add, reorder, move, remove, undo; the simulate pane; rebuilding a prompt."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from editor_pilot import editor, fill_modal, loaded, screen_text, select, set_field, until
from ivr_edit_helpers import ivr_service_for

from cc.domain import ivr
from cc.services.ivr import DEFAULT_TREE, read_tree_file

pytestmark = pytest.mark.timeout(90)


def test_edit_fail_check_save_export_reimport(db_file, tmp_path):
    exported = tmp_path / "out" / "tree.yaml"
    exported.parent.mkdir()

    async def run() -> dict:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            assert app.tree_id == 1
            await select(pilot, "order_agent", "main")
            await set_field(pilot, "f-queue", "")  # a queue node without its queue
            assert "queue" not in app.draft.nodes["order_agent"]
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.id == "problems-modal", "the problems")
            text = screen_text(app)
            assert "Not saved: 1 problem(s)" in text
            assert "order_agent: a queue node needs 'queue' (the service queue's name)" in text
            await pilot.press("escape")
            assert app.tree_id == 1
            labels, todo = [], list(app.query_one("#outline").root.children)
            while todo:
                item = todo.pop()
                labels.append(str(item.label))
                todo += item.children
            assert "1: ⚠ order_agent · queue" in labels  # marked in the tree until a clean check or save
            await select(pilot, "order_agent", "main")
            await set_field(pilot, "f-queue", "vip_orders")
            await select(pilot, "main")
            await set_field(pilot, "f-timeout", "8")
            other, db = ivr_service_for(db_file)  # someone imports a tree meanwhile: version 2
            other.import_tree(DEFAULT_TREE)
            db.conn.close()
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen.id == "error-modal", "the conflict")
            assert "changed since version 1 was opened: version 2 from" in screen_text(app)
            await pilot.press("escape")
            await pilot.press("ctrl+s")  # again: this version goes over it
            await until(pilot, lambda: app.tree_id == 3, "the save")
            assert app.draft.changes == 0 and "saved as version 3" in app.message and not app.flagged
            await pilot.press("f9")
            await fill_modal(pilot, "export-modal", {"path": str(exported)})
            await until(pilot, lambda: exported.exists() and "exported" in app.message, "the export")
            return app.draft.data

    saved = asyncio.run(run())
    assert saved["nodes"]["order_agent"]["queue"] == "vip_orders" and saved["nodes"]["main"]["timeout"] == 8
    service, db = ivr_service_for(db_file)
    try:
        assert read_tree_file(exported).plain == saved
        tree_id, _ = service.import_tree(exported)
        assert tree_id == 4 and ivr.tree_to_dict(service.current()[1]) == saved
    finally:
        db.conn.close()


def test_add_reorder_move_remove_undo(db_file):
    async def run() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, "main")
            await pilot.press("f2")
            await fill_modal(pilot, "add-modal", {"key": "6", "target": "feedback"}, select={"kind": "voicemail"})
            assert app.draft.nodes["feedback"] == {"kind": "voicemail"}
            await until(pilot, lambda: app.selected.node == "feedback", "the new node selected")
            assert list(app.draft.nodes["main"]["branches"]) == ["1", "2", "3", "4", "5", "0", "6"]
            await pilot.press("f5")
            assert list(app.draft.nodes["main"]["branches"]) == ["1", "2", "3", "4", "5", "6", "0"]
            await pilot.press("f4")
            await fill_modal(pilot, "move-modal", {"menu": "complaints", "key": "4"})
            assert "6" not in app.draft.nodes["main"]["branches"]
            assert app.draft.nodes["complaints"]["branches"]["4"] == "feedback"
            assert (app.selected.parent, app.selected.slot) == ("complaints", "branch:4")
            await pilot.press("f3")
            assert "feedback" not in app.draft.nodes and "removed: feedback" in app.message
            await pilot.press("f2")  # the cursor is on complaints now: a branch of it
            await fill_modal(pilot, "add-modal", {"key": "1", "target": "x"})
            assert "taken" in app.message and "x" not in app.draft.nodes
            for _ in range(4):
                await pilot.press("ctrl+z")
            assert app.draft.data == ivr.tree_to_dict(read_tree_file_default())
            assert app.draft.changes == 0
            await pilot.press("ctrl+z")
            assert app.message == "nothing to undo"

    asyncio.run(run())


def read_tree_file_default() -> ivr.Tree:
    return read_tree_file(DEFAULT_TREE).tree


def test_simulate_pane_walks_the_edited_tree(db_file):
    async def run() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await pilot.press("f8")
            await until(pilot, lambda: app.sim is not None, "the simulation")
            assert app.sim.result is None and app.sim.path == ["welcome", "main"]
            await pilot.press("1")
            await until(pilot, lambda: app.sim.keys == ["1"], "key 1")
            assert app.sim.result == "queued" and app.sim.path[-2:] == ["order_agent", "bye"]
            assert "正在为您转接订奶专员" in str(app.query_one("#sim-pad").render())
            await pilot.press("backspace")
            await until(pilot, lambda: app.sim.keys == [], "the key taken back")
            await pilot.press("5")
            await until(pilot, lambda: app.sim.keys == ["5"] and app.sim.waiting_for == "digits", "the relay")
            for key in "13900139000#":
                await pilot.press(key)
            await until(pilot, lambda: app.sim.keys == ["5", "13900139000#"], "the number")
            assert app.sim.result == "relayed"
            await pilot.press("r")
            await until(pilot, lambda: app.sim.keys == [], "restart")
            # an edit re-runs the simulation on the edited tree (nothing saved)
            await select(pilot, "main")
            await set_field(pilot, "f-prompts", "goodbye")
            await until(pilot, lambda: app.sim.lines[-1:] == ["♪ 感谢您的来电，再见。"], "the edited menu prompt")
            app.query_one("#sim-pad").focus()
            await pilot.press("4")
            await until(pilot, lambda: app.sim.keys == ["4"], "key 4")
            assert app.sim.result == "voicemail" and app.sim.path[-3:] == ["main", "voicemail", "bye"]

    asyncio.run(run())


@pytest.mark.parametrize("espeak", [False, True], ids=["no-espeak", "espeak"])
def test_rebuild_prompt_speaks_the_edited_text_or_says_what_is_missing(db_file, monkeypatch, espeak):
    import cc.telephony.prompts as tts

    if espeak and not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox not installed")
    if not espeak:
        real_which = shutil.which
        monkeypatch.setattr(tts.shutil, "which", lambda tool: None if tool == "espeak-ng" else real_which(tool))

    wav = db_file.parent / "prompts" / "goodbye.wav"
    saved: list[bytes] = []

    async def run() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, "bye")
            app.query_one("#tabs").active = "tab-prompts"
            await until(pilot, lambda: bool(app.query("#p-0")), "the prompt form")
            await set_field(pilot, "p-0", "谢谢，再见。")
            assert app.draft.prompts["goodbye"] == "谢谢，再见。"
            await pilot.press("ctrl+r")  # the focused prompt
            if espeak:
                await until(pilot, lambda: "rebuilt 1" in app.message, "the rebuild", timeout=60)
                assert "goodbye" in app.files and "once you save" in app.message
                # Callers keep hearing the old sound until the tree with the new text is saved.
                assert not wav.exists()
                await pilot.press("ctrl+s")
                await until(pilot, lambda: app.tree_id == 2, "the save")
                assert wav.exists() and wav.stat().st_size > 1000
                saved.append(wav.read_bytes())
                await set_field(pilot, "p-0", "再见，欢迎下次再来订奶。")  # rebuilt, then left without saving
                await pilot.press("ctrl+r")
                await until(pilot, lambda: app.message.count("rebuilt 1") and app.draft.changes, "the 2nd rebuild", timeout=60)
                return
            await until(pilot, lambda: app.screen.id == "error-modal", "the error")
            text = screen_text(app)
            assert "espeak-ng not installed" in text and "apt-get install espeak-ng sox" in text
            await pilot.press("escape")
            assert app.screen.id != "error-modal"

    asyncio.run(run())
    assert wav.exists() == espeak
    assert not espeak or wav.read_bytes() == saved[0]  # the unsaved rebuild never reached the callers
    assert not list(wav.parent.glob(".cc-ivr-edit-*"))  # and was dropped at exit


def test_check_names_unreachable_nodes_which_can_be_deleted_and_quit_asks_first(db_file):
    async def run() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await select(pilot, "welcome")
            await set_field(pilot, "f-next", "bye")  # the whole menu is cut off
            await pilot.press("f7")
            await until(pilot, lambda: app.screen.id == "problems-modal", "the check")
            text = screen_text(app)
            assert "The check found" in text and "main: is unreachable: no entry or branch leads to it" in text
            await pilot.press("escape")
            await select(pilot, "main")
            assert app.selected.label == "unreachable"
            await pilot.press("f3")
            assert "main" not in app.draft.nodes and app.message == "removed: main"
            await pilot.press("ctrl+q")
            assert app.quit_armed and "unsaved edits" in app.message and app.is_running
            await pilot.press("ctrl+z", "ctrl+z")
            assert app.draft.changes == 0 and "main" in app.draft.nodes
            await pilot.press("f7")
            await until(pilot, lambda: app.message.startswith("the tree passes the check"), "a clean check")

    asyncio.run(run())


def test_tree_tab_sets_the_start_and_entries_and_a_node_changes_kind(db_file):
    async def run() -> None:
        app = editor(db_file)
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            app.query_one("#tabs").active = "tab-tree"
            await set_field(pilot, "t-entries", "staff=staff_menu, night=bye")
            await set_field(pilot, "t-start", "main")
            assert app.draft.data["start"] == "main" and app.draft.data["entries"]["night"] == "bye"
            roots = [item.data for item in app.query_one("#outline").root.children]
            assert [(r.label, r.node) for r in roots] == [("inbound", "main"), ("staff", "staff_menu"),
                                                          ("night", "bye"), ("unreachable", "welcome")]
            await pilot.press("f8")
            await until(pilot, lambda: app.sim is not None and app.sim.path == ["main"], "the walk from main")
            app.query_one("#tabs").active = "tab-node"
            await select(pilot, "station")
            app.query_one("#f-kind").value = "hangup"  # the kind: fields it does not take go
            await until(pilot, lambda: app.draft.nodes["station"] == {"kind": "hangup", "prompts": ["transfer_station"]},
                        "the new kind")
            await until(pilot, lambda: not app.query("#f-number") and bool(app.query("#f-prompts")), "the hangup form")

    asyncio.run(run())
