"""``cc gsm simulate|deliver|fault|sent`` as a person uses them: separate processes, a control socket."""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys

import pytest

from cc.config import ModemConfig
from cc.gsm.modem import GsmModemAdapter
from cc.gsm.types import IncomingSms
from gsm_helpers import next_event

pytestmark = pytest.mark.timeout(40)
CC = [sys.executable, "-m", "cc"]


@pytest.fixture(autouse=True)
def _registered_once(monkeypatch):
    import cc.cli

    if not getattr(cc.cli, "_gsm_tests_registered", False) and not getattr(cc.cli, "_core_tests_registered", False):
        cc.cli._register()
        cc.cli._gsm_tests_registered = cc.cli._core_tests_registered = True  # tests/core checks the latter
    monkeypatch.setattr(cc.cli, "_register", lambda: None)  # main() registers on every call; once is enough


def _cc(*args: str) -> subprocess.CompletedProcess:
    """``cc ARGS`` in this process (start-up costs nothing), as a CompletedProcess."""
    import cc.cli

    out, err = io.StringIO(), io.StringIO()
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cc.cli.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_simulate_deliver_fault_sent(tmp_path):
    control, link = tmp_path / "sim.sock", tmp_path / "modem0"
    proc = subprocess.Popen(
        [*CC, "gsm", "simulate", "--personality", "quectel", "--control", str(control), "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    adapter = None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "the simulator printed no device path"
        assert proc.stdout.readline().strip() == str(link)
        adapter = GsmModemAdapter(ModemConfig(device=str(link)))
        adapter.connect()
        adapter.send("+8613800138000", "订单1234 回复Y确认")
        sent = _cc("gsm", "sent", "--control", str(control), "--json")
        assert sent.returncode == 0, sent.stderr
        (message,) = json.loads(sent.stdout)
        table = _cc("gsm", "sent", "--control", str(control))
        assert table.returncode == 0 and "+8613800138000" in table.stdout
        assert (message["to"], message["text"]) == ("+8613800138000", "订单1234 回复Y确认")
        delivered = _cc("gsm", "deliver", "--control", str(control), "--from", "+8613900139000", "确认")
        assert delivered.returncode == 0, delivered.stderr
        assert next_event(adapter.events(), IncomingSms).text == "确认"
        bad = _cc("gsm", "fault", "--control", str(control), "meteor")
        assert bad.returncode == 2 and bad.stderr.startswith("Error:") and "Hint:" in bad.stderr
    finally:
        if adapter:
            adapter.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0
    assert not os.path.exists(link) and not os.path.exists(control)
    gone = _cc("gsm", "sent", "--control", str(control))
    assert gone.returncode == 3 and "cc gsm simulate --control" in gone.stderr


def test_unknown_personality_is_a_usage_error():
    result = _cc("gsm", "simulate", "--personality", "nokia3310")
    assert result.returncode == 2 and "huawei" in result.stderr and "Traceback" not in result.stderr
