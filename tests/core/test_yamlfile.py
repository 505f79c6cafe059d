"""cc/yamlfile.py, the one reader of cc's YAML files, and the four readers built on it (config, IVR
tree, queue file, QA scorecard): the same one-line errors naming the file and the line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cc.config import load_config
from cc.errors import ConfigError, NotFound, UsageError
from cc.services.ivr import TreeInvalid, read_tree_file
from cc.services.qa import CardInvalid, read_card_file
from cc.telephony.acd_wiring import read_queue_file
from cc.yamlfile import SYNTAX_HINT, YamlFileError, load_text, read_file

READERS = {  # what each reader calls its file, and how it is read
    "config file": lambda p: load_config(p),
    "IVR tree file": read_tree_file,
    "queue file": read_queue_file,
    "scorecard file": read_card_file,
}


def test_data_and_the_line_of_every_key_and_item():
    doc = load_text("name: x\ncriteria:\n  - key: a\n    max: 3\n  - key: b\n", "t.yaml")
    assert doc.data == {"name": "x", "criteria": [{"key": "a", "max": 3}, {"key": "b"}]}
    assert doc.line("criteria", 1, "key") == 5 and doc.line("nope") is None
    assert doc.dotted_lines() == {"name": 1, "criteria": 2, "criteria[0]": 3, "criteria[0].key": 3,
                                  "criteria[0].max": 4, "criteria[1]": 5, "criteria[1].key": 5}


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("a: [1\n", "t.yaml, line 2: not valid YAML: expected ',' or ']'", SYNTAX_HINT),
    ("a: !money 5\n", "t.yaml, line 1: not valid YAML: could not determine a constructor", SYNTAX_HINT),
    ("a:\n  b: 1\n  b: 2\n", "t.yaml, line 3: key 'a.b' is written twice (first on line 2)", "keep one of them"),
    ("- a\n- b\n", "t.yaml, line 1: the file must be a mapping of keys, not a list", "key: value"),
    ("just text\n", "t.yaml, line 1: the file must be a mapping of keys, not a single value", "key: value"),
    ("# only a comment\n", "t.yaml: the file is empty; it must be a mapping of keys", "key: value"),
])
def test_a_broken_text_is_one_line_naming_file_and_line(text, message, hint):
    with pytest.raises(YamlFileError) as err:
        load_text(text, "t.yaml")
    assert err.value.message.startswith(message) and hint in err.value.hint and "\n" not in err.value.message


def test_merge_keys_and_recursive_aliases_are_not_written_twice():
    doc = load_text("base: &b {a: 1}\nx:\n  <<: *b\n  a: 2\nloop: &l [1, *l]\n", "t.yaml")
    assert doc.data["x"] == {"a": 2} and doc.line("x", "a") == 4
    assert load_text("", "t.yaml", empty_ok=True).data is None


@pytest.mark.parametrize("what", READERS)
def test_the_four_readers_say_the_same_for_a_missing_file(tmp_path, what):
    path = tmp_path / "nope.yaml"
    with pytest.raises((NotFound, ConfigError)) as err:
        READERS[what](path)
    assert err.value.message == f"{what} {path} not found" and err.value.hint


@pytest.mark.parametrize("what", READERS)
def test_the_four_readers_say_the_same_for_a_file_that_is_not_utf8(tmp_path, what):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises((UsageError, ConfigError)) as err:
        READERS[what](path)
    assert err.value.message == f"cannot read {what} {path}: not UTF-8 text (byte 0xe9 at offset 9)"
    assert err.value.hint == "save it as UTF-8 text"


@pytest.mark.parametrize("what", READERS)
def test_the_four_readers_name_file_and_line_for_broken_yaml_and_a_list(tmp_path, what):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nitems: [1\n", encoding="utf-8")
    with pytest.raises((UsageError, ConfigError)) as err:
        READERS[what](path)
    syntax = err.value.message
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises((UsageError, ConfigError)) as err:
        READERS[what](path)
    if what == "IVR tree file":  # the tree lists its problems by node: 'tree (line N): ...'
        assert syntax.startswith(f"{path}: tree (line 3): not valid YAML: ")
        assert err.value.message.startswith(f"{path}: tree (line 1): the file must be a mapping with 'start'")
        assert isinstance(err.value, TreeInvalid)
    else:
        assert syntax.startswith(f"{path}, line 3: not valid YAML: ")
        assert err.value.message.startswith(f"{path}, line 1: the file must be a mapping")
        assert isinstance(err.value, CardInvalid if what == "scorecard file" else (ConfigError if what == "config file" else YamlFileError))


def test_an_ivr_node_written_twice_is_named_with_both_lines():
    from cc.services.ivr import parse_yaml

    text = "start: a\nprompts: {hi: Hello}\nnodes:\n  a: {type: hangup}\n  a: {type: hangup}\n"
    with pytest.raises(TreeInvalid) as err:
        parse_yaml(text, "t.yaml")
    assert err.value.message == "t.yaml: node 'a' (line 5): key 'nodes.a' is written twice (first on line 4)"


def test_a_list_at_the_top_where_the_reader_allows_it():
    doc = load_text("- name: a\n- name: b\n", "t.yaml", list_ok=True)
    assert doc.data == [{"name": "a"}, {"name": "b"}] and doc.line(1, "name") == 2
    with pytest.raises(YamlFileError, match="t.yaml, line 1: the file must be a list of reports, not a single value"):
        load_text("7\n", "t.yaml", shape="a list of reports", list_ok=True)


def test_a_config_error_stays_a_config_error(tmp_path):
    path = tmp_path / "cc.yaml"
    path.write_text("locale: en\nlocale: zh_CN\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cc.yaml, line 2: key 'locale' is written twice \(first on line 1\)"):
        read_file(path, "config file", "check --config", error=ConfigError)


def test_reading_the_config_does_not_import_yaml_until_a_file_is_read():
    code = "import sys, cc.config, cc.yamlfile; print('yaml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "False"
