"""`cc ivr edit` from the shell: refused cleanly without a terminal or with an unknown language; what the
editor writes passes `cc ivr validate` (the same rules)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cc.domain.ivr_edit import Draft
from cc.services.ivr import DEFAULT_TREE, read_tree_file, tree_yaml


def cc(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CC_DB": str(tmp_path / "cc.db"), "LANG": "C.UTF-8"}
    env.pop("CC_CONFIG", None)
    env.pop("TEXTUAL_DRIVER", None)
    return subprocess.run([sys.executable, "-m", "cc", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=60)


def test_edit_needs_a_terminal_and_a_known_language(tmp_path):
    result = cc(tmp_path, "ivr", "edit")
    assert result.returncode == 2 and result.stdout == ""
    assert "Error: the IVR editor needs a terminal" in result.stderr and "cc ivr validate FILE" in result.stderr
    assert "Traceback" not in result.stderr
    result = cc(tmp_path, "ivr", "edit", "--lang", "fr")
    assert result.returncode == 2 and "unknown language 'fr'" in result.stderr


def test_what_the_editor_writes_passes_cc_ivr_validate(tmp_path):
    draft = Draft(read_tree_file(DEFAULT_TREE).plain)
    draft.add_branch("main", "6", "feedback", "voicemail")
    draft.set_fields("feedback", {"prompts": ["voicemail_intro"], "next": "bye"})
    draft.move("main", "branch:2", "main", "9", "vip")
    path = tmp_path / "edited.yaml"
    path.write_text(tree_yaml(draft.data), encoding="utf-8")
    result = cc(tmp_path, "ivr", "validate", str(path), "--no-prompts")
    assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result.stderr
