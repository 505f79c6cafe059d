"""``cc gsm simulate|deliver|fault|sent`` as a person uses them: separate processes, a control socket."""

from __future__ import annotations

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


def _cc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CC, *args], capture_output=True, text=True, timeout=20)


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
