"""``cc sms ...`` as a person runs it: exit codes, data on stdout, Error:/Hint: on stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from sms_helpers import wait_for

from cc.cli import main


def cc(capsys, *args: str) -> tuple[int, str, str]:  # noqa: ANN001
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:  # noqa: ANN001
    path = str(tmp_path / "cc.db")
    monkeypatch.setenv("CC_DB", path)
    monkeypatch.delenv("CC_CONFIG", raising=False)
    return path


def test_send_outbox_retry_status(capsys, db) -> None:
    code, out, err = cc(capsys, "sms", "send", "13800138000", "您好，明早六点送奶")
    assert code == 0 and out.strip() == "1" and "queued SMS 1" in err
    code, out, _ = cc(capsys, "sms", "outbox", "--json")
    (row,) = json.loads(out)
    assert row["phone"] == "+8613800138000" and row["text"] == "您好，明早六点送奶" and row["status"] == "queued"
    code, out, _ = cc(capsys, "sms", "outbox")
    assert code == 0 and "queued" in out
    code, out, err = cc(capsys, "sms", "retry", "1")
    assert code == 1 and "Error: SMS 1 is queued, not failed" in err and "Hint:" in err
    code, out, err = cc(capsys, "sms", "retry", "99")
    assert code == 1 and "no SMS with id 99" in err
    code, out, _ = cc(capsys, "sms", "status", "--json")
    assert json.loads(out)["outbox"] == {"queued": 1}
    code, out, _ = cc(capsys, "sms", "show", "1", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["attempt_history"] == [] and shown["possible_duplicates"] == 0
    code, out, _ = cc(capsys, "sms", "show", "1")
    assert code == 0 and "SMS 1 to +8613800138000 (manual): queued" in out
    code, _, err = cc(capsys, "sms", "show", "7")
    assert code == 1 and "no SMS with id 7" in err
    code, out, _ = cc(capsys, "sms", "inbox", "--json")
    assert code == 0 and json.loads(out) == []


def test_bad_input_is_an_error_not_a_traceback(capsys, db) -> None:
    code, _, err = cc(capsys, "sms", "send", "12", "x")
    assert code == 2 and err.startswith("Error: '12' is not a valid phone number")
    code, _, err = cc(capsys, "sms", "outbox", "--status", "lost")
    assert code == 2 and "unknown status" in err
    code, _, err = cc(capsys, "sms", "serve")
    assert code == 2 and "no modem configured" in err and "Hint:" in err


def test_serve_keeps_retrying_an_absent_modem_and_stops_on_sigterm(tmp_path, db) -> None:
    log = tmp_path / "sms.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cc", "sms", "serve", "--modem", str(tmp_path / "ttyUSB9"), "--log-file", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )
    try:
        wait_for(lambda: log.exists() and "cannot connect" in log.read_text(encoding="utf-8"), timeout=15, what="the log")
        status = subprocess.run([sys.executable, "-m", "cc", "sms", "status", "--json"], capture_output=True, text=True,
                                timeout=30)
        (modem,) = json.loads(status.stdout)["modems"]
        assert modem["state"] == "reconnecting" and "ttyUSB9" in modem["last_error"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "SMS gateway stopped" in log.read_text(encoding="utf-8")
