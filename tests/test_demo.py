"""`cc demo --headless`: the main job on a fresh machine runs the whole pipeline (and, with --minutes, the
simulated center) and exits 0."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def test_demo_headless_runs_the_pipeline_through_sms(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "cc", "--db", str(db), "demo", "--headless", "--minutes", "4", "--rate", "5"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "ledger matches balances: yes" in out
    # Then four simulated minutes of the live center: callers through the IVR and the ACD to the agents.
    assert "simulated minutes: 4.0" in out
    answered = int(re.search(r"calls offered to queues: (\d+), answered: (\d+)", out).group(2))
    assert answered > 0, out
    sent = int(re.search(r"SMS sent through the modem simulator: (\d+)", out).group(1))
    assert sent > 0
    files = int(re.search(r"\((\d+) order files\)", out).group(1))
    assert files > 0
    # Orders reached the dairy through SMS replies, and their history says so.
    listed = subprocess.run([sys.executable, "-m", "cc", "--db", str(db), "order", "list", "--json", "--limit", "0"],
                            capture_output=True, text=True, timeout=60)
    orders = json.loads(listed.stdout)
    charged = [o for o in orders if o["status"] in ("sent_to_dairy", "in_delivery", "completed", "cancelled")]
    assert charged
    shown = subprocess.run([sys.executable, "-m", "cc", "--db", str(db), "order", "show", charged[0]["code"], "--json"],
                           capture_output=True, text=True, timeout=60)
    reasons = [e["reason"] for e in json.loads(shown.stdout)["events"]]
    assert any("sms" in r.lower() for r in reasons), reasons


def test_demo_refuses_to_overwrite_an_explicit_database(tmp_path: Path) -> None:
    db = tmp_path / "precious.db"
    db.write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "cc", "--db", str(db), "demo", "--headless"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Error:" in done.stderr and "--force" in done.stderr


def test_demo_refuses_a_bad_rate(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cc", "--db", str(tmp_path / "d.db"), "demo", "--headless", "--rate", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Error:" in done.stderr and "--rate" in done.stderr and "Traceback" not in done.stderr
