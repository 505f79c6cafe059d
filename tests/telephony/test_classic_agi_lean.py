"""The classic-AGI process (one per call) loads only what a call needs and opens the database once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

SESSION = (
    "agi_request: cc-agi\nagi_channel: PJSIP/trunk-00000001\nagi_uniqueid: 1700000000.1\n"
    "agi_callerid: 13900000009\n\n200 result=0\n200 result=0 endpos=8\n200 result=1\n"
)
# Runs one classic call in a fresh interpreter, counting the database connections it opens and listing
# the modules it loaded that a call does not need.
PROBE = """
import json, sqlite3, sys
opened = []
real = sqlite3.connect
def counting(*args, **kwargs):
    opened.append(args[0])
    return real(*args, **kwargs)
sqlite3.connect = counting
from cc.telephony.agi_entry import main
code = main(["inbound"])
heavy = {"typer", "rich", "textual", "sqlite_utils", "yaml", "hmac", "secrets", "uuid", "dataclasses", "inspect", "pprint"}
sys.stderr.write(json.dumps({"code": code, "connections": len(opened),
                             "heavy": sorted(heavy & {m.split(".")[0] for m in sys.modules}),
                             "config": "cc.config" in sys.modules}) + "\\n")
"""


def _run(db: str) -> dict:
    env = {**os.environ, "CC_DB": db}
    env.pop("CC_CONFIG", None)
    done = subprocess.run([sys.executable, "-c", PROBE], input=SESSION, capture_output=True, text=True, env=env,
                          timeout=60)
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_a_classic_call_opens_the_database_once_and_loads_nothing_heavy(tmp_path):
    db = str(tmp_path / "cc.db")
    first = _run(db)  # creates the schema and imports the default tree: sqlite-utils is loaded for that
    assert first["code"] == 0
    second = _run(db)
    assert second == {"code": 0, "connections": 1, "heavy": [], "config": False}  # no config file: no cc.config
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id, result FROM calls ORDER BY started_at").fetchall()
    finally:
        conn.close()
    assert [r[0] for r in rows] == ["1700000000.1", "1700000000.1-2"] and all(r[1] for r in rows)


def test_the_classic_config_without_a_file_is_cc_configs_defaults(monkeypatch):
    import dataclasses

    from cc.config import Config, load_config
    from cc.telephony.classic_config import ClassicConfig, classic_config

    monkeypatch.delenv("CC_CONFIG", raising=False)
    monkeypatch.delenv("CC_DB", raising=False)
    full = load_config(None)
    lean = classic_config(None, None)
    assert isinstance(lean, ClassicConfig) and lean.db == full.db and lean.data_dir == full.data_dir
    assert vars(lean.ivr) == dataclasses.asdict(full.ivr) and vars(lean.agi) == dataclasses.asdict(full.agi)
    monkeypatch.setenv("CC_DB", "/tmp/x/calls.db")
    lean = classic_config(None, None)
    assert lean.db == "/tmp/x/calls.db" and classic_config(None, "other.db").db == "other.db"
    assert lean.acd == Config().acd and lean.asterisk.hotline == Config().asterisk.hotline  # the rest: full defaults
    assert lean.resolved_locale() == load_config(None).resolved_locale() and lean.source is None


def _probe_config(env: dict) -> dict:
    code = ("import json, sys\nfrom cc.telephony.classic_config import classic_config\n"
            "try:\n    c = classic_config(None, None)\nexcept Exception as exc:\n"
            "    print(json.dumps({'error': str(exc)})); sys.exit()\n"
            "print(json.dumps({'db': c.db, 'source': c.source, 'ivr': dict(vars(c.ivr)), 'agi': dict(vars(c.agi)),"
            " 'loaded': sorted(m for m in ('yaml', 'cc.config') if m in sys.modules)}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    return json.loads(done.stdout)


def test_a_config_file_is_parsed_once_until_it_changes(tmp_path):
    import dataclasses

    from cc.config import load_config

    path = tmp_path / "cc.yaml"
    path.write_text("db: site.db\nagi:\n  secret: s3\nivr:\n  record_format: gsm\n", encoding="utf-8")
    env = {**os.environ, "CC_CONFIG": str(path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("CC_DB", None)
    full = load_config(path)
    first, second = _probe_config(env), _probe_config(env)
    assert first["loaded"] == ["cc.config", "yaml"] and second["loaded"] == []
    for seen in (first, second):
        assert (seen["db"], seen["source"]) == ("site.db", str(path))
        assert seen["ivr"] == dataclasses.asdict(full.ivr) and seen["agi"] == dataclasses.asdict(full.agi)
    assert oct((tmp_path / "cache" / "cc" / "classic-agi-config.json").stat().st_mode & 0o777) == "0o600"
    assert _probe_config({**env, "CC_DB": "other.db"})["db"] == "other.db"  # --db / CC_DB still win
    path.write_text("db: site.db\nagi:\n  secret: s3\nivr:\n  record_format: wav49\n", encoding="utf-8")
    changed = _probe_config(env)
    assert changed["loaded"] == ["cc.config", "yaml"] and changed["ivr"]["record_format"] == "wav49"
    path.write_text("db: site.db\nivr:\n  record_fromat: gsm\n", encoding="utf-8")
    assert "unknown key 'ivr.record_fromat'" in _probe_config(env)["error"]  # a broken file is still refused
