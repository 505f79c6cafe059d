"""`cc qa play` through a real Asterisk 22: the supervisor's phone (a Local channel that answers) rings and
the call's recording is played to it through the control context's relay extension (what `cc asterisk
config` writes). Every wait is on an AMI event, with a bound."""

from __future__ import annotations

import json
import sqlite3
import wave

import pytest
from qa_helpers import cli

from cc.telephony import asterisk_runtime as rt
from cc.telephony.ami import AmiClient, EventQueue
from cc.telephony.control_dialplan import ControlDialplan, render_control

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(60)]

PHONE = """
[cc-qa-phone]
; Local/NAME@cc-qa-phone/n: a supervisor's phone that answers and stays on the line.
exten => _[a-z].,1,UserEvent(CcQaRang,Who: ${EXTEN})
 same => n,Answer()
 same => n,Wait(20)
 same => n,Hangup()
"""


def _config(asterisk, folder) -> None:  # noqa: ANN001
    (folder / "cc.yaml").write_text(
        f"asterisk:\n  ami:\n    host: 127.0.0.1\n    port: {asterisk.ami_port}\n    username: {asterisk.ami_username}\n"
        f"    secret: {asterisk.ami_secret}\n  control:\n    context: cc-control\n    ring_seconds: 10\n", encoding="utf-8")


def test_cc_qa_play_rings_the_supervisor_and_plays_the_recording(asterisk, db_file, tmp_path, monkeypatch):
    for name in ("CC_CONFIG", "CC_USER", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CC_DB", str(db_file))
    monkeypatch.chdir(tmp_path)
    asterisk.write_extensions(rt.GENERAL + render_control(ControlDialplan(context="cc-control", ring_seconds=10))
                              + PHONE + rt.CALLER_CONTEXTS)
    folder = tmp_path / "rec"
    folder.mkdir()
    with wave.open(str(folder / "acd-call-1.wav"), "wb") as out:  # 0.5 s, as MixMonitor writes it (8 kHz mono)
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x10" * 4000)
    prefix = asterisk.add_sounds(folder, "qa-recordings")
    db = sqlite3.connect(db_file)
    db.execute("UPDATE acd_recordings SET file = ? WHERE call_id = 'call-1'", (f"{prefix}/acd-call-1.wav",))
    db.execute("UPDATE acd_agents SET dial = 'Local/boss@cc-qa-phone/n' WHERE user = 'boss'")
    db.commit()
    db.close()
    _config(asterisk, tmp_path)
    events = EventQueue()
    ami = AmiClient("127.0.0.1", asterisk.ami_port, asterisk.ami_username, asterisk.ami_secret, timeout=5)
    ami.subscribe(events)
    ami.connect()
    try:
        code, out, err = cli("--config", "cc.yaml", "--user", "boss", "qa", "play", "call-1", "--wait", "20", "--json")
        assert code == 0, err
        result = json.loads(out)
        assert result["dial"] == "Local/boss@cc-qa-phone/n" and result["played"] is True
        events.wait_for(Event="UserEvent", UserEvent="CcQaRang", Who="boss", timeout=15)
        played = events.wait_for(Event="UserEvent", UserEvent="CcRelayPlayed", RelayId=result["tag"], timeout=15)
        assert played["Status"] == "SUCCESS"
    finally:
        ami.close()
    asterisk.wait_idle(timeout=10)
    log = sqlite3.connect(db_file).execute("SELECT actor, dial, outcome FROM qa_plays").fetchall()
    assert log == [("boss", "Local/boss@cc-qa-phone/n", "played")]


def test_a_missing_recording_is_reported(asterisk, db_file, tmp_path, monkeypatch):
    """The phone answers but Asterisk cannot read the file: 'cc qa play --wait' says so (exit 1)."""
    for name in ("CC_CONFIG", "CC_USER", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CC_DB", str(db_file))
    monkeypatch.chdir(tmp_path)
    asterisk.write_extensions(rt.GENERAL + render_control(ControlDialplan(context="cc-control", ring_seconds=10))
                              + PHONE + rt.CALLER_CONTEXTS)
    db = sqlite3.connect(db_file)
    db.execute("UPDATE acd_recordings SET file = '/nonexistent/acd-call-2.wav' WHERE call_id = 'call-2'")
    db.commit()
    db.close()
    _config(asterisk, tmp_path)
    code, out, err = cli("--config", "cc.yaml", "--user", "boss", "qa", "play", "call-2", "--dial",
                         "Local/boss@cc-qa-phone/n", "--wait", "20")
    assert code == 1 and out == "", err
    assert err.startswith("Error: the recording of call-2 was not played to Local/boss@cc-qa-phone/n: playback FAILED")
    asterisk.wait_idle(timeout=10)
