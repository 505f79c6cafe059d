"""``cc agent`` and ``cc queue`` in-process against a database file: outputs, JSON, clean errors."""

from __future__ import annotations

import contextlib
import io
import json
import sys

import pytest


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path, db_file):
    from acd_helpers import cli_env

    cli_env(monkeypatch, db_file, tmp_path)


def cli(*argv: str) -> tuple[int, str, str]:
    import cc.cli

    out, err = io.StringIO(), io.StringIO()
    code = None
    old = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cc.cli.main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_agent_commands(tmp_path):
    code, _, err = cli("agent", "set", "a1", "--dial", "PJSIP/1001", "--skill", "orders:7", "--skill", "changes:2", "--group", "day")
    assert code == 0 and "skills changes:2, orders:7" in err
    assert cli("agent", "login", "a1")[2] == "a1: ready\n"
    assert cli("agent", "pause", "a1", "lunch")[2] == "a1: paused (lunch)\n"
    code, out, _ = cli("agent", "list", "--json")
    (agent,) = json.loads(out)
    assert (agent["state"], agent["reason"], agent["skills"]) == ("paused", "lunch", {"changes": 2, "orders": 7})
    code, out, _ = cli("agent", "list")
    assert "paused (lunch)" in out and "PJSIP/1001" in out
    code, out, _ = cli("agent", "events", "a1", "--json")
    assert [e["state"] for e in json.loads(out)] == ["paused", "ready"]
    assert cli("agent", "heartbeat", "a1")[0] == 0


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (("agent", "set", "zz", "--dial", "PJSIP/1", "--skill", "orders:1"), 1, "no user named 'zz'"),
        (("agent", "set", "a1", "--dial", "PJSIP/1", "--skill", "orders:0"), 2, "level must be 1 to 10"),
        (("agent", "ready", "a1"), 1, "not set up as an agent"),
        (("queue", "priority", "7", "3"), 1, "no caller 7 waiting"),
        (("queue", "show", "nope"), 1, "no queue named 'nope'"),
        (("queue", "import", "missing.yaml"), 1, "not found"),
    ],
)
def test_clean_errors(argv, code, message):
    got, out, err = cli(*argv)
    assert got == code and message in err and "Hint:" in err and "Traceback" not in err and out == ""


def test_bare_agent_without_a_terminal_names_the_subcommands():
    code, _, err = cli("agent")  # a bare `cc agent` opens the agent console (cc/tui), which needs a terminal
    assert code == 2 and "Hint:" in err and "login" in err and "heartbeat" in err


def test_queue_import_list_show(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("queues:\n  sales:\n    service: sales\n    strategy: lowest_skill\n", encoding="utf-8")
    code, _, err = cli("queue", "import", str(path))
    assert code == 0 and "loaded 1 queue(s): sales" in err
    code, out, _ = cli("queue", "list", "--json")
    assert [q["name"] for q in json.loads(out)] == ["sales"]
    code, out, _ = cli("queue", "show", "sales", "--json")
    assert json.loads(out)["callers"] == []
    code, out, _ = cli("queue", "exits", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli("queue", "exits", "--queue", "sales")
    assert code == 0 and "reason" in out
    code, out, _ = cli("queue", "callbacks", "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = cli("queue", "callback-done", "3")
    assert code == 1 and "no call back 3" in err
    path.write_text("queues:\n  sales:\n    strategy: dice\n", encoding="utf-8")
    code, _, err = cli("queue", "import", str(path))
    assert code == 2 and f"{path}, line 3: queue 'sales': strategy must be one of" in err
    path.write_text("queues:\n  sales:\n    overflow:\n      after_seconds: 30\n", encoding="utf-8")
    code, _, err = cli("queue", "import", str(path))
    assert code == 2 and f"{path}, line 4: queue 'sales': overflow.after_seconds needs overflow.backup_skills" in err


def test_queue_prompts_built_once(tmp_path):
    import shutil

    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are not installed")
    code, out, _ = cli("queue", "prompts", "--json")
    done = json.loads(out)
    assert code == 0 and {d["action"] for d in done} == {"built"} and any(d["prompt"] == "acd_ahead" for d in done)
    code, out, _ = cli("queue", "prompts")
    assert out.startswith("0 built, 14 kept")
