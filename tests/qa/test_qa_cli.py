"""``cc qa`` in-process against a database file: outputs, JSON, and bad input as one Error:/Hint: pair
with the exit code (never a traceback)."""

from __future__ import annotations

import json

import pytest
from qa_helpers import ANSWERS, cli

RANGE = ("--from", "2026-11-01", "--to", "2026-11-30")


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path, db_file):
    for name in ("CC_CONFIG", "CC_USER", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CC_DB", str(db_file))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def sets(answers: dict[str, str]) -> list[str]:
    return [arg for key, value in answers.items() for arg in ("--set", f"{key}={value}")]


def error(err: str) -> list[str]:
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), err
    assert "Traceback" not in err
    return lines


def test_cards_calls_score_show_and_scores():
    code, out, _ = cli("qa", "cards", "--json")
    assert code == 0
    (card,) = json.loads(out)
    assert card["name"] == "default" and len(card["criteria"]) == 7
    code, out, _ = cli("qa", "cards")
    assert code == 0 and "order_accuracy" in out and "25%" in out
    code, out, _ = cli("qa", "calls", *RANGE, "--json")
    assert [c["call"] for c in json.loads(out)] == ["call-4", "call-3", "call-2", "call-1"]
    code, out, err = cli("--user", "boss", "qa", "score", "call-1", *sets(ANSWERS), "--comment", "good read-back")
    assert (code, out) == (0, "81\n") and "call call-1 (a1) scored 81/100 on default v1" in err
    code, out, err = cli("--user", "boss", "qa", "score", "call-1", *sets({**ANSWERS, "closing": "yes"}))
    assert out == "91\n" and "replaces score 1" in err
    code, out, _ = cli("qa", "calls", *RANGE, "--unscored")
    assert code == 0 and "call-2" in out and "call-1" not in out
    code, out, _ = cli("qa", "show", "call-1")
    assert "score 1" in out and "# good read-back" in out and "qa_total: 91" in out
    code, out, _ = cli("qa", "scores", *RANGE, "--by", "month", "--json")
    assert json.loads(out) == [{"period": "2026-11", "agent": "a1", "scored": 1, "qa_average": 91.0, "surveys": 2,
                                "survey_average": 4.0},
                               {"period": "2026-11", "agent": "a2", "scored": 0, "qa_average": None, "surveys": 1,
                                "survey_average": 4.0}]
    code, out, _ = cli("qa", "scores", *RANGE, "--agent", "a1")
    assert code == 0 and "2026-W47" in out and "2026-W48" in out


def test_import_versions(tmp_path):
    from cc.services.qa import DEFAULT_CARD

    text = DEFAULT_CARD.read_text(encoding="utf-8")
    (tmp_path / "card.yaml").write_text(text.replace("weight: 10\n    type: yesno", "weight: 5\n    type: yesno", 1)
                                        .replace("weight: 25", "weight: 30"), encoding="utf-8")
    code, _, err = cli("qa", "import", str(DEFAULT_CARD))
    assert code == 0 and err == "loaded scorecard default version 1\n"
    code, _, err = cli("qa", "import", str(DEFAULT_CARD))
    assert code == 0 and err == "scorecard default unchanged (version 1)\n"
    code, _, err = cli("qa", "import", str(tmp_path / "card.yaml"))
    assert code == 0 and err == "loaded scorecard default version 2\n"


@pytest.mark.parametrize(("argv", "code", "message"), [
    (("qa", "score", "call-1", *sets({**ANSWERS, "smile": "yes"})), 2, "Error: scorecard 'default' has no criterion 'smile'"),
    (("qa", "score", "call-1", *sets({**ANSWERS, "courtesy": "7"})), 2, "Error: courtesy: '7' is out of range (0 to 5 points)"),
    (("qa", "score", "call-1", "--set", "greeting"), 2, "Error: --set 'greeting' is not CRITERION=VALUE"),
    (("qa", "score", "nope", *sets(ANSWERS)), 1, "Error: no recorded call 'nope'"),
    (("qa", "score", "call-1", "--card", "gold", *sets(ANSWERS)), 1, "Error: no scorecard 'gold'"),
    (("--user", "a1", "qa", "score", "call-1", *sets(ANSWERS)), 1, "Error: a1 is an agent and may not score calls"),
    (("qa", "show", "nope"), 1, "Error: no recorded call 'nope'"),
    (("qa", "scores", "--by", "year"), 2, "Error: --by 'year' is not one of day, week, month"),
    (("qa", "calls", "--from", "yesterday"), 2, "Error: --from 'yesterday' is not a date"),
    (("qa", "import", "missing.yaml"), 1, "Error: scorecard file missing.yaml not found"),
])
def test_bad_input_is_one_error_and_a_hint(argv, code, message):
    got, out, err = cli(*argv)
    assert got == code and out == ""
    assert error(err)[0].startswith(message), err


def test_broken_yaml_names_file_and_line(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: x\ncriteria:\n  - key: a\n    label: {zh_CN: 甲, en: A\n", encoding="utf-8")
    code, _, err = cli("qa", "import", "broken.yaml")
    assert code == 2 and error(err)[0].startswith("Error: broken.yaml, line 5: not valid YAML")
    (tmp_path / "weights.yaml").write_text(
        "name: x\ncriteria:\n  - key: a\n    label: {zh_CN: 甲, en: A}\n    weight: 50\n    max: 3\n", encoding="utf-8")
    code, _, err = cli("qa", "import", "weights.yaml")
    assert code == 2 and error(err)[0] == "Error: weights.yaml, line 2: criteria: weights add up to 50, not 100"


def test_play_without_asterisk_is_unreachable(tmp_path):
    port = _free_port()
    (tmp_path / "cc.yaml").write_text(f"asterisk:\n  ami:\n    host: 127.0.0.1\n    port: {port}\n", encoding="utf-8")
    code, _, err = cli("--config", "cc.yaml", "--user", "boss", "qa", "play", "call-1")
    assert code == 3 and error(err)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
