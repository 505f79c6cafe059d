"""The IVR tree model: building from YAML, validation (each problem names its node), the step function."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.domain import ivr
from cc.services.ivr import DEFAULT_TREE, TreeInvalid, parse_yaml, read_tree_file

BASE = """
name: t
start: main
prompts:
  hello: 你好
  menu: 请按键
  bye: 再见
  nokey: 没有按键
  bad: 按键无效
nodes:
  main:
    kind: menu
    prompts: [menu]
    timeout_prompt: nokey
    invalid_prompt: bad
    retries: 1
    branches:
      "1": info
      "2": bye
  info:
    kind: announcement
    prompts: [hello]
    next: main
  bye:
    kind: hangup
    prompts: [bye]
"""


def tree(text: str = BASE) -> ivr.Tree:
    return parse_yaml(text, "t.yaml").tree


def problems_of(text: str) -> list[ivr.Problem]:
    try:
        loaded = parse_yaml(text, "t.yaml")
    except TreeInvalid as exc:
        return exc.problems
    return ivr.validate(loaded.tree)


def test_the_shipped_tree_is_valid_and_round_trips():
    loaded = read_tree_file(DEFAULT_TREE)
    assert ivr.validate(loaded.tree) == []
    kinds = {n.kind for n in loaded.tree.nodes.values()}
    assert kinds == set(ivr.KINDS)  # every kind of node is in the hotline tree
    again = ivr.tree_from_dict(ivr.tree_to_dict(loaded.tree))
    assert ivr.tree_to_dict(again) == ivr.tree_to_dict(loaded.tree)


def test_eleven_branches_is_an_error_naming_the_menu_and_line():
    branches = "".join(f'      "{k}": bye\n' for k in "0123456789*")
    text = BASE.replace('      "1": info\n      "2": bye\n', branches + "      # info unused\n")
    found = problems_of(text)
    assert any(p.node == "main" and "11 branches" in p.message and p.line == 11 for p in found), found


def test_dangling_target_names_the_node():
    found = problems_of(BASE.replace('"2": bye', '"2": nowhere'))
    assert "node 'main' (line 11): points to 'nowhere', which is not a node" in [str(p) for p in found]


def test_unreachable_node():
    text = BASE + "  orphan:\n    kind: hangup\n"
    found = problems_of(text)
    assert [(p.node, p.line) for p in found] == [("orphan", 27)]
    assert "unreachable" in found[0].message


def test_loop_without_input():
    text = BASE.replace("    next: main\n", "    next: again\n") + "  again:\n    kind: announcement\n    next: info\n"
    found = problems_of(text)
    assert len(found) == 1 and "loops without waiting for input" in found[0].message
    assert found[0].node in ("info", "again")


def test_missing_prompt_file_and_undefined_prompt(tmp_path: Path):
    loaded = parse_yaml(BASE.replace("prompts: [hello]", "prompts: [hello, ghost]"), "t.yaml")
    found = ivr.validate(loaded.tree, prompt_files={"menu", "bye", "nokey", "bad"})
    messages = sorted(str(p) for p in found)
    assert "node 'info' (line 20): prompt 'hello' has no sound file" in messages
    assert "node 'info' (line 20): uses prompt 'ghost', which is not in 'prompts'" in messages


def test_malformed_yaml_names_line_and_node():
    text = BASE.replace("    next: main\n", "    next: [main\n")
    with pytest.raises(TreeInvalid) as err:
        parse_yaml(text, "t.yaml")
    problem = err.value.problems[0]
    assert "not valid YAML" in problem.message and problem.line is not None
    assert problem.node in ("info", "bye")
    assert err.value.message.startswith("t.yaml: node '")


def test_bad_kind_key_and_values_name_the_node():
    text = BASE.replace("    kind: hangup\n", "    kind: hangup\n    next: main\n").replace("retries: 1", "retries: lots")
    found = problems_of(text)
    assert {p.node for p in found} == {"main", "bye"}
    assert any("'next' is not used by a hangup node" in p.message for p in found)
    assert any("'retries' must be a whole number" in p.message for p in found)


def test_duplicate_node_and_unknown_kind():
    assert any(p.node == "bye" and "twice" in p.message for p in problems_of(BASE + "  bye:\n    kind: hangup\n"))
    found = problems_of(BASE.replace("kind: hangup", "kind: dance"))
    assert found[0].node == "bye" and "unknown kind 'dance'" in found[0].message


# -- the step function ---------------------------------------------------------------------------------


def run(t: ivr.Tree, keys: list[str], caller: ivr.Caller | None = None, entry: str = "inbound"):
    """Drive the step function with keys; returns (heard prompt ids, end)."""
    caller = caller or ivr.Caller(number="+8613800138000")
    step = ivr.start(t, caller, entry)
    heard: list[str] = []
    keys = list(keys)
    while True:
        event = None
        for action in step.actions:
            if isinstance(action, ivr.Play):
                heard.append(action.prompt)
            elif isinstance(action, (ivr.SayNumber, ivr.SayDigits)):
                heard.append(f"<{getattr(action, 'number', getattr(action, 'digits', ''))}>")
            elif isinstance(action, ivr.WaitKey):
                if not keys:
                    return heard, None, step.state  # the caller hangs up
                event = ivr.Key(keys.pop(0))
            elif isinstance(action, ivr.Record):
                event = ivr.Recorded(f"/rec/{action.kind}", 1000)
            elif isinstance(action, ivr.ReadDigits):
                event = ivr.Digits(keys.pop(0))
            elif isinstance(action, ivr.Store):
                heard.append(f"store:{action.kind}:{action.target}")
        if step.end is not None:
            return heard, step.end, step.state
        step = ivr.step(t, caller, step.state, event)


def test_menu_branch_repeat_back_and_hangup():
    heard, end, state = run(tree(), ["1", "#", "2"])
    assert heard == ["menu", "hello", "menu", "menu", "bye"]
    assert end == ivr.End("completed", "hangup node 'bye'")
    assert state.path == ("main", "info", "main", "bye")


def test_timeout_and_invalid_use_up_retries():
    heard, end, _ = run(tree(), ["", "7"])
    assert heard == ["menu", "nokey", "menu", "bad"]
    assert end.result == "no_input" and "invalid key 7" in end.reason


def test_blacklisted_caller_is_refused():
    t = parse_yaml(BASE.replace("start: main", "start: main\nblacklist_prompt: bye"), "t").tree
    heard, end, _ = run(t, [], ivr.Caller(number="+861", blacklisted=True))
    assert heard == ["bye"] and end.result == "refused"


def test_default_tree_known_caller_hears_balance_and_orders():
    t = read_tree_file(DEFAULT_TREE).tree
    caller = ivr.Caller(
        number="+8613800138000", known=True, balance_fen=12345,
        orders=(ivr.OrderInfo("1234567", "in_delivery", 30, 12), ivr.OrderInfo("7654321", "completed", 5, 5)),
    )
    heard, end, state = run(t, ["2", "1", "2", "*", "*", "1"], caller)
    assert heard[heard.index("balance_intro"):][:5] == ["balance_intro", "<123>", "yuan", "<45>", "fen"]
    i = heard.index("orders_intro")
    assert heard[i:i + 6] == ["orders_intro", "order_word", "<1234567>", "status_delivering", "remaining", "<18>"]
    assert "<7654321>" not in heard  # completed orders are not read out
    assert state.path[-3:] == ("main", "order_agent", "bye")
    assert end.result == "completed"


def test_unknown_caller_does_not_get_self_service():
    t = read_tree_file(DEFAULT_TREE).tree
    heard, end, _ = run(t, ["2", "", "", "#"])  # 2 is invalid for an unknown caller
    assert "self_menu" not in heard and "invalid" in heard
    assert "main_menu_known" not in heard


def test_star_goes_back_to_the_parent_menu():
    t = read_tree_file(DEFAULT_TREE).tree
    _, _, state = run(t, ["3", "*", "1"])
    assert state.path == ("welcome", "main", "complaints", "main", "order_agent", "bye")


def test_voicemail_relay_greeting_and_transfer():
    t = read_tree_file(DEFAULT_TREE).tree
    heard, end, _ = run(t, ["4"])
    assert "store:voicemail:" in heard and end.result == "completed"
    heard, end, _ = run(t, ["5", "12", "13800001111"])
    assert heard.count("relay_invalid") == 1 and "store:relay:13800001111" in heard
    assert heard[heard.index("relay_thanks") + 1] == "<13800001111>"
    heard, end, _ = run(t, ["3", "3"])
    assert end.result == "transferred" and end.reason == "transferred to 4008001234"
    heard, end, state = run(t, ["2", "2", "1"], entry="staff")  # record, re-record, keep
    assert heard.count("greeting_confirm") == 2 and heard.count("store:greeting:promotion") == 1
    assert end is None and state.path == ("staff_menu", "record_promotion", "staff_menu")


def test_step_guards_against_a_tree_changed_under_a_call():
    t = tree()
    step = ivr.step(t, ivr.Caller(), ivr.CallState(node="gone"), ivr.Key("1"))
    assert step.end == ivr.End("error", "node 'gone' no longer exists")
