"""`cc call dial|transfer|hangup|relay ...`, `cc spy ...` and `cc asterisk config` for call control, as the
real command: Asterisk down is exit 3 with Error/Hint, a refused login exit 2, and a hang-up through a fake
manager that speaks AMI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ami_fake import FakeAmi, Peer, serve_forever

from cc.store.db import open_db
from cc.telephony.asterisk_runtime import free_port

REPO = Path(__file__).resolve().parents[2]
START = "2026-11-26T02:00:00.000+00:00"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("cc-cli")
    db = open_db(base / "cc.db")
    for name, role in [("wang", "agent"), ("boss", "supervisor")]:
        db.conn.execute("INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)",
                        (name, role, START, START))
    db.conn.execute("INSERT INTO acd_agents (user, dial, grp, state, state_since, updated_at)"
                    " VALUES ('wang', 'PJSIP/1001', 'orders', 'on_call', ?, ?)", (START, START))
    db.conn.close()
    return base


def run_cc(site: Path, *args: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
    config = site / f"cc-{port or 0}.yaml"
    config.write_text(f"db: {site / 'cc.db'}\nasterisk:\n  ami:\n    port: {port or free_port()}\n    secret: s3cret\n"
                      "    timeout_seconds: 2\n  control:\n    phone_secret: k\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CC_CONFIG", "CC_DB")}
    env["CC_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "cc", *args], capture_output=True, text=True, env=env, timeout=60, cwd=REPO)


@pytest.mark.parametrize("args", [
    ["call", "dial", "wang", "13800138000"],
    ["call", "transfer", "wang", "queue:orders", "--attended"],
    ["spy", "listen", "boss", "wang"],
    ["call", "relay", "deliver"],
])
def test_asterisk_down_is_exit_3_with_a_hint(site, args):
    result = run_cc(site, *args)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("Error: Asterisk manager (AMI) at 127.0.0.1:")
    assert "Hint: check that Asterisk runs" in result.stderr and "Traceback" not in result.stderr


def test_refused_login_is_exit_2(site):
    server = FakeAmi([lambda peer: peer.login(ok=False)])
    try:
        result = run_cc(site, "call", "hangup", "x", port=server.port)
    finally:
        server.close()
    assert result.returncode == 2 and "refused the login of 'cc'" in result.stderr


def test_hangup_through_the_manager(site):
    def handler(peer: Peer, action: dict[str, str]) -> None:
        if action["Action"] == "CoreShowChannels":
            aid = action["ActionID"]
            peer.send(f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n"
                      f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/trunk-00000001\r\nUniqueid: 1764.1\r\n"
                      "Linkedid: 1764.1\r\nBridgeId: b1\r\nChannelState: 6\r\nCallerIDNum: +8613800138000\r\n\r\n"
                      f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/1001-00000002\r\nUniqueid: 1764.2\r\n"
                      "Linkedid: 1764.1\r\nBridgeId: b1\r\nChannelState: 6\r\n\r\n"
                      f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n\r\n")
        elif action["Action"] == "Logoff":
            peer.respond(action, "Goodbye")
        else:
            peer.respond(action, "Success", Message="ok")

    server = FakeAmi([lambda peer: (peer.login(), serve_forever(peer, handler))])
    try:
        result = run_cc(site, "call", "hangup", "wang", "--json", port=server.port)
        sent = [a["Action"] for p in server.peers for a in p.actions]
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"call": "wang", "channel": "PJSIP/trunk-00000001", "agent": "wang"}
    assert sent[:3] == ["Login", "CoreShowChannels", "Hangup"]
    log = json.loads(run_cc(site, "call", "control-log", "--json").stdout)
    assert log[0]["action"] == "hangup" and log[0]["channel"] == "PJSIP/trunk-00000001"


def test_relay_list_and_asterisk_config(site, tmp_path):
    assert json.loads(run_cc(site, "call", "relay", "list", "--json").stdout) == []
    control = run_cc(site, "asterisk", "config", "--control")
    assert control.returncode == 0 and "[cc-control]" in control.stdout and "ChanSpy(" in control.stdout
    pjsip = run_cc(site, "asterisk", "config", "--pjsip")
    assert "[1001](cc-agent-phone)" in pjsip.stdout and "CHANGE_ME" not in pjsip.stdout
    written = run_cc(site, "asterisk", "config", "-o", str(tmp_path))
    assert written.returncode == 0, written.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"cc-inbound.conf", "cc-control.conf", "cc-agents-pjsip.conf"}
    assert "#include cc-control.conf" in written.stderr
