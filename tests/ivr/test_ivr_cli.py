"""The IVR commands end to end (subprocesses, a real SQLite file), the lean classic-AGI entry point, the
prompt builder, and the layering of the IVR modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from cc.services.ivr import DEFAULT_TREE

BAD_TREE = """
start: main
prompts: {menu: 请按键}
nodes:
  main:
    kind: menu
    prompts: [menu]
    branches: {"1": nowhere}
"""


def cc(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "CC_DB": str(tmp_path / "cc.db"), "LANG": "C.UTF-8"}
    env.pop("CC_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "cc", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)


def test_validate_reports_the_node_and_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_TREE, encoding="utf-8")
    result = cc(tmp_path, "ivr", "validate", str(bad), "--no-prompts")
    assert result.returncode == 2
    assert f"{bad}: node 'main' (line 5): points to 'nowhere', which is not a node" in result.stdout
    assert "Traceback" not in result.stderr
    good = cc(tmp_path, "ivr", "validate", str(DEFAULT_TREE), "--no-prompts", "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["ok"] is True
    missing = cc(tmp_path, "ivr", "validate", str(DEFAULT_TREE))
    assert missing.returncode == 2 and "prompt 'welcome' has no sound file" in missing.stdout
    assert "cc ivr prompts build" in missing.stderr


def test_import_refuses_a_bad_tree_and_export_round_trips(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_TREE, encoding="utf-8")
    refused = cc(tmp_path, "ivr", "import", str(bad))
    assert refused.returncode == 2 and refused.stderr.startswith(f"Error: {bad}: node 'main'")
    tree = tmp_path / "tree.yaml"
    tree.write_text(DEFAULT_TREE.read_text(encoding="utf-8").replace("立减三十元", "立减五十元"), encoding="utf-8")
    assert cc(tmp_path, "ivr", "import", str(tree)).returncode == 0
    exported = cc(tmp_path, "ivr", "export")
    assert "立减五十元" in exported.stdout
    shown = cc(tmp_path, "ivr", "show", "--json")
    assert json.loads(shown.stdout)["tree"]["prompts"]["promotion"].endswith("立减五十元。")


def test_simulate_prints_what_the_caller_hears(tmp_path):
    result = cc(tmp_path, "ivr", "simulate", "--keys", "9,3,1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "♪ 您好，欢迎致电XX乳业订奶热线。" in out and "♪ 对不起，您的按键无效。" in out
    assert out.strip().endswith("== path: welcome > main > complaints > complaint_agent > bye")
    interactive = cc(tmp_path, "ivr", "simulate", "--json", stdin="1\n")
    assert json.loads(interactive.stdout[interactive.stdout.index("{"):])["result"] == "queued"
    assert cc(tmp_path, "call", "list", "--json").stdout.strip() == "[]"  # simulation stores nothing


BLACKLISTED_SESSION = (
    "agi_request: cc-agi\nagi_callerid: 13900000000\nagi_uniqueid: 1700.5\nagi_channel: SIP/x\n\n"
    "200 result=0\n200 result=0 endpos=10\n200 result=1\n"
)


def test_classic_agi_entry_is_lean_and_records_the_call(tmp_path):
    assert cc(tmp_path, "customer", "add", "--phone", "13900000000", "--name", "x", "--tag", "blacklist").returncode == 0
    env = {**os.environ, "CC_DB": str(tmp_path / "cc.db")}
    run = subprocess.run([sys.executable, "-c", "from cc.telephony.agi_entry import main; import sys; sys.exit(main())", "inbound"],
                         input=BLACKLISTED_SESSION, capture_output=True, text=True, env=env, timeout=30)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "ANSWER" and run.stdout.splitlines()[-1] == "HANGUP"
    assert run.stderr == ""  # no pyst2 trace
    listed = json.loads(cc(tmp_path, "call", "list", "--json").stdout)
    assert [(c["id"], c["result"], c["caller"]) for c in listed] == [("1700.5", "refused", "+8613900000000")]
    shown = json.loads(cc(tmp_path, "call", "show", "1700.5", "--json").stdout)
    assert [e["kind"] for e in shown["events"]] == ["start", "classify", "refused", "end"]
    missing = cc(tmp_path, "call", "show", "nosuch")
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no call nosuch")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, cc.telephony.agi_entry, cc.telephony.handlers; "
         "print(sorted(m for m in ('typer','rich','textual','sqlite_utils','click','yaml') if m in sys.modules))"],
        capture_output=True, text=True, timeout=30,
    )
    assert probe.stdout.strip() == "[]"


def test_domain_and_services_stay_free_of_adapters():
    code = ("import sys, cc.domain.ivr, cc.services.ivr, cc.services.ivr_calls, cc.services.calls, cc.services.callers; "
            "print(sorted(m for m in ('sqlite_utils','serial','gsmmodem','asterisk','textual','typer','rich') if m in sys.modules))")
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert probe.stdout.strip() == "[]", probe.stderr


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox not installed")
def test_prompts_build_makes_8khz_mono_files(tmp_path):
    tree = tmp_path / "tree.yaml"
    tree.write_text(
        "start: bye\nprompts:\n  bye: 感谢您的来电，再见。\n  hello: Hello\nnodes:\n  bye:\n    kind: hangup\n    prompts: [bye, hello]\n",
        encoding="utf-8",
    )
    assert cc(tmp_path, "ivr", "import", str(tree)).returncode == 0
    built = cc(tmp_path, "ivr", "prompts", "build", "--json")
    assert built.returncode == 0, built.stderr
    assert sorted((b["prompt"], b["action"]) for b in json.loads(built.stdout)) == [("bye", "built"), ("hello", "built")]
    with wave.open(str(tmp_path / "prompts" / "bye.wav")) as sound:
        assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (8000, 1, 2)
        assert sound.getnframes() > 8000  # over a second of speech
    again = cc(tmp_path, "ivr", "prompts", "build", "--json")
    assert {b["action"] for b in json.loads(again.stdout)} == {"kept"}
    assert cc(tmp_path, "ivr", "validate", str(tree)).returncode == 0


def test_cc_agi_run_is_the_same_classic_agi(tmp_path):
    session = BLACKLISTED_SESSION.replace("13900000000", "13700000001").replace("1700.5", "1700.6")
    session = session.split("\n\n")[0] + "\n\n" + "200 result=0\n" + "200 result=0 endpos=10\n" * 3 + "200 result=0\n" * 3
    run = cc(tmp_path, "agi", "run", "inbound", stdin=session)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[:2] == ["ANSWER", f"STREAM FILE {tmp_path}/prompts/welcome \"\""]
    listed = json.loads(cc(tmp_path, "call", "list", "--json").stdout)
    assert listed[0]["id"] == "1700.6" and listed[0]["result"] == "abandoned"  # the session ran out: closed
