"""Saving an edited tree: checked like `cc ivr validate`, stored as a new version, exported and read back
equal; the simulate pane's key-by-key walk."""

from __future__ import annotations

import pytest
from ivr_edit_helpers import ivr_service_for

from cc.domain import ivr
from cc.domain.ivr_edit import Draft
from cc.services.ivr import TreeInvalid, read_tree_file, simulate_keys


@pytest.fixture
def service(db_file):
    svc, db = ivr_service_for(db_file)
    yield svc
    db.conn.close()


def plain_of(svc) -> dict:
    return ivr.tree_to_dict(svc.current()[1])


def test_default_tree_round_trip(service, tmp_path):
    before_id = service.current()[0]["id"]
    tree_id, warnings = service.save_plain(plain_of(service))
    assert tree_id == before_id + 1
    assert warnings and all("no sound file" in p.message for p in warnings)  # no prompt files in tmp
    out = tmp_path / "export.yaml"
    out.write_text(service.export_yaml(), encoding="utf-8")
    again_id, _ = service.import_tree(out)
    assert again_id == tree_id + 1
    assert ivr.tree_to_dict(service.current()[1]) == read_tree_file(out).plain == plain_of(service)
    from cc.services.ivr import DEFAULT_TREE

    assert read_tree_file(out).plain == read_tree_file(DEFAULT_TREE).plain


def test_edited_tree_round_trip(service, tmp_path):
    draft = Draft(plain_of(service))
    draft.add_branch("main", "6", "feedback", "voicemail")
    draft.set_fields("feedback", {"prompts": ["voicemail_intro"], "max_seconds": 30, "next": "bye"})
    draft.set_prompt("goodbye", "再见，欢迎再次来电。")
    draft.reorder("main", "branch:6", -1)
    tree_id, _ = service.save_plain(draft.data)
    row, tree = service.current()
    assert row["id"] == tree_id and row["source"] == "cc ivr edit"
    assert tree.nodes["feedback"].max_seconds == 30 and tree.prompts["goodbye"] == "再见，欢迎再次来电。"
    out = tmp_path / "edited.yaml"
    out.write_text(service.export_yaml(), encoding="utf-8")
    assert read_tree_file(out).plain == draft.data
    service.import_tree(out)
    assert plain_of(service) == draft.data


def test_invalid_tree_is_not_saved_and_each_problem_names_its_node(service):
    before = service.current()[0]["id"]
    draft = Draft(plain_of(service))
    draft.add_branch("main", "6", "feedback", "queue")  # a queue node without its queue name
    draft.set_fields("welcome", {"next": "nowhere"})  # dangling
    _, problems = service.check_plain(draft.data)
    assert [(p.node, p.message) for p in problems] == [("feedback", "a queue node needs 'queue' (the service queue's name)")]
    with pytest.raises(TreeInvalid) as caught:
        service.save_plain(draft.data)
    assert "queue node needs 'queue'" in caught.value.message
    draft.set_fields("feedback", {"queue": "orders"})
    loaded, problems = service.check_plain(draft.data)
    lines = [f"{p.node}: {p.message}" for p in problems if "no sound file" not in p.message]
    assert "welcome: points to 'nowhere', which is not a node" in lines
    assert any(line.startswith("main: is unreachable") for line in lines)
    with pytest.raises(TreeInvalid):
        service.save_plain(draft.data)
    assert service.current()[0]["id"] == before


def test_simulate_keys_stops_where_the_caller_waits(service, db_file, clock):
    from cc.services.callers import store_lookup
    from cc.services.ivr_calls import IvrRuntime, TreeSource
    from cc.store.calls import CallStore
    from cc.store.db import open_db
    from cc.telephony.handlers import settings_from_config
    from ivr_edit_helpers import config_for

    memory = CallStore(open_db(":memory:"))
    memory.close = lambda: None
    tree = service.current()[1]
    runtime = IvrRuntime(lambda: memory, clock, settings_from_config(config_for(db_file)),
                         lambda _s, raw: store_lookup(memory, raw), TreeSource(lambda _s: (0, tree)))
    base = runtime.settings.prompt_path("").rstrip("/")

    def run(keys, call_id):  # noqa: ANN001, ANN202
        return simulate_keys(runtime.run, tree, keys, caller_id="13800138000", call_id=call_id, prompts_base=base)

    sim = run([], "a")
    assert sim.result is None and sim.path == ["welcome", "main"] and sim.waiting_for == "key"
    assert any("欢迎" in line for line in sim.lines)
    sim = run(["5"], "b")
    assert sim.waiting_for == "digits" and sim.path[-1] == "relay" and "[beep: recording up to 60s]" in sim.lines
    sim = run(["5", "13900139000#"], "c")
    assert sim.result == "relayed" and sim.path[-1] == "bye"
    sim = run(["t", "t", "t"], "d")
    assert sim.path[-2:] == ["operator", "bye"] and sim.result == "queued"
    memory.conn.close()


def test_a_save_over_a_newer_version_is_refused_unless_asked(service):
    from cc.services.ivr import DEFAULT_TREE, TreeChanged

    base = service.current()[0]["id"]
    draft = Draft(plain_of(service))
    draft.set_fields("main", {"timeout": 9})
    newer, _ = service.import_tree(DEFAULT_TREE)
    with pytest.raises(TreeChanged, match=f"changed since version {base} was opened: version {newer} from"):
        service.save_plain(draft.data, base_id=base)
    assert service.current()[0]["id"] == newer
    saved, _ = service.save_plain(draft.data, base_id=newer)
    assert saved == newer + 1 and service.current()[1].nodes["main"].timeout == 9
