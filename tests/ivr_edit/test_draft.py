"""The editor's operations on a tree in its plain form: add, remove, reorder, move, undo, the outline."""

from __future__ import annotations

import pytest

from cc.domain import ivr
from cc.domain.ivr_edit import Draft, EditError
from cc.services.ivr import DEFAULT_TREE, read_tree_file


@pytest.fixture
def draft() -> Draft:
    return Draft(read_tree_file(DEFAULT_TREE).plain)


def branches(draft: Draft, menu: str) -> list[str]:
    return [str(k) for k in draft.nodes[menu]["branches"]]


def test_outline_walks_from_each_entry_with_references(draft):
    rows = draft.outline()
    assert [(r.depth, r.label, r.node) for r in rows[:3]] == [(0, "inbound", "welcome"), (1, "then", "main"),
                                                              (2, "1", "order_agent")]
    assert any(r.label == "staff" and r.node == "staff_menu" and r.depth == 0 for r in rows)
    refs = [r for r in rows if r.ref]
    assert refs and all(r.node in draft.nodes for r in refs)
    assert sum(1 for r in rows if not r.ref) == len(draft.nodes)  # every node once in full
    assert ("2", "2 (known)") == next((r.slot[7:], r.label) for r in rows if r.node == "self_service" and r.parent == "main")


def test_add_branch_to_a_new_node_then_undo(draft):
    assert draft.add_branch("main", "6", "feedback", "voicemail") is True
    assert draft.nodes["feedback"] == {"kind": "voicemail"}
    assert branches(draft, "main")[-1] == "6"
    draft.tree()  # still a valid tree
    assert draft.undo() == "add branch main 6 -> feedback"
    assert "feedback" not in draft.nodes and "6" not in branches(draft, "main")
    assert draft.undo() is None


def test_add_branch_refusals_name_the_problem(draft):
    with pytest.raises(EditError, match="key 1 of 'main' is taken"):
        draft.add_branch("main", "1", "bye")
    with pytest.raises(EditError, match="not a phone key"):
        draft.add_branch("main", "x", "bye")
    with pytest.raises(EditError, match="branches belong to menus"):
        draft.add_branch("bye", "1", "main")
    for key in "6789":
        draft.add_branch("main", key, "bye")
    with pytest.raises(EditError, match="at most 10"):
        draft.add_branch("main", "*", "bye")
    assert draft.changes == 4  # the refused edits left no undo step


def test_remove_branch_takes_the_nodes_only_it_reached(draft):
    gone = draft.remove("main", "branch:2")
    assert sorted(gone) == ["balance", "order_status", "self_service"]
    assert "2" not in branches(draft, "main")
    assert not ivr.validate(draft.tree())  # nothing dangling, nothing unreachable
    draft.undo()
    assert "self_service" in draft.nodes and branches(draft, "main") == ["1", "2", "3", "4", "5", "0"]


def test_remove_keeps_nodes_reached_another_way(draft):
    assert draft.remove("complaints", "branch:1") == []  # complaint_agent is still reached on key 2
    assert draft.remove("main", "branch:0") == []  # operator is still main's and complaints' on_fail
    with pytest.raises(EditError, match="entry point"):
        draft.remove(None, None)


def test_reorder_branches_keeps_keys(draft):
    assert draft.reorder("main", "branch:3", -1)
    assert branches(draft, "main") == ["1", "3", "2", "4", "5", "0"]
    assert not draft.reorder("main", "branch:1", -1)  # already first
    assert draft.reorder("main", "branch:0", -1) and branches(draft, "main")[-2:] == ["0", "5"]
    draft.undo()
    draft.undo()
    assert branches(draft, "main") == ["1", "2", "3", "4", "5", "0"]


def test_move_branch_to_another_menu_and_rekey(draft):
    draft.move("main", "branch:4", "complaints", "4")
    assert "4" not in branches(draft, "main") and draft.nodes["complaints"]["branches"]["4"] == "voicemail"
    assert not ivr.validate(draft.tree())
    draft.move("main", "branch:2", "main", "9")  # same menu, another key; the condition stays
    assert draft.nodes["main"]["branches"]["9"] == {"to": "self_service", "when": "known"}
    with pytest.raises(EditError, match="taken"):
        draft.move("main", "branch:1", "main", "3")
    assert "1" in branches(draft, "main")  # a refused move changes nothing
    draft.undo()
    draft.undo()
    assert draft.data == Draft(read_tree_file(DEFAULT_TREE).plain).data


def test_fields_kind_and_prompt_text(draft):
    assert draft.set_fields("main", {"timeout": 8, "fail_prompt": None})
    assert draft.nodes["main"]["timeout"] == 8 and "fail_prompt" not in draft.nodes["main"]
    assert not draft.set_fields("main", {"timeout": 8})
    draft.set_kind("station", "hangup")
    assert draft.nodes["station"] == {"kind": "hangup", "prompts": ["transfer_station"]}
    draft.set_prompt("goodbye", "再见！")
    assert draft.prompts["goodbye"] == "再见！"
    with pytest.raises(EditError):
        draft.set_prompt("goodbye", " ")
    assert draft.changes == 3
    for _ in range(3):
        draft.undo()
    assert draft.data == Draft(read_tree_file(DEFAULT_TREE).plain).data


def test_move_sets_the_condition_and_unreachable_nodes_can_be_deleted(draft):
    draft.move("main", "branch:2", "main", "2", None)  # the condition dropped
    assert draft.nodes["main"]["branches"]["2"] == "self_service"
    draft.move("main", "branch:2", "main", "2", "vip")
    assert draft.nodes["main"]["branches"]["2"] == {"to": "self_service", "when": "vip"}
    with pytest.raises(EditError, match="condition"):
        draft.move("main", "branch:2", "main", "2", "gold")
    with pytest.raises(EditError, match="in use"):
        draft.delete_node("bye")
    draft.set_fields("main", {"on_fail": None})
    draft.set_fields("complaints", {"on_fail": None})
    draft.remove("main", "branch:0")
    assert "operator" not in draft.nodes  # removed with the branch that last reached it
    draft.undo()
    draft.set_fields("welcome", {"next": "bye"})  # main and all below it: unreachable now
    assert [r.node for r in draft.outline() if r.label == "unreachable"] == ["main"]
    draft.delete_node("main")
    assert "main" not in draft.nodes and "unreachable" in {r.label for r in draft.outline()}


def test_tree_settings(draft):
    assert draft.set_top({"start": "main", "entries": {"staff": "staff_menu", "night": "bye"}})
    assert [(r.label, r.node) for r in draft.outline() if r.depth == 0] == [
        ("inbound", "main"), ("staff", "staff_menu"), ("night", "bye"), ("unreachable", "welcome")]
    assert not draft.set_top({"start": "main"})
    draft.set_top({"goodbye_prompt": None})
    assert "goodbye_prompt" not in draft.data
    with pytest.raises(EditError, match="not a tree setting"):
        draft.set_top({"nodes": {}})
    draft.undo()
    draft.undo()
    assert draft.data == Draft(read_tree_file(DEFAULT_TREE).plain).data


def test_move_can_point_a_branch_elsewhere(draft):
    draft.move("main", "branch:2", "main", "2", target="balance")  # the condition stays
    assert draft.nodes["main"]["branches"]["2"] == {"to": "balance", "when": "known"}
    draft.move("main", "branch:4", "main", "4", None, "operator")
    assert draft.nodes["main"]["branches"]["4"] == "operator"
    assert [r.node for r in draft.outline() if r.label == "unreachable"] == ["voicemail"]  # balance leads back to self_service
    with pytest.raises(EditError, match="no node 'nowhere'"):
        draft.move("main", "branch:1", "main", "1", target="nowhere")
