"""The Asterisk harness itself: separate runs do not clash, stop leaves nothing behind, failures are clear."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cc.errors import Unreachable
from cc.telephony import asterisk_runtime as rt

pytestmark = pytest.mark.asterisk


def _mounts_mentioning(root: Path) -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return [line for line in fh if str(root) in line]


def test_a_second_asterisk_runs_beside_the_session_one_and_stops_cleanly(asterisk, asterisk_root):
    second = rt.AsteriskRuntime(extensions=rt.GENERAL + rt.CALLER_CONTEXTS, root=asterisk_root)
    with second:
        assert second.ami_port != asterisk.ami_port
        assert second.base != asterisk.base
        assert "Asterisk 22" in second.cli("core show version")
        pid = second.process.pid
        assert not _mounts_mentioning(asterisk_root)  # /proc and /dev are mounted in its own namespace only
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert not second.host_path(second.base).exists()
    assert "Asterisk 22" in asterisk.cli("core show version")  # the session's Asterisk is untouched


def test_ami_port_taken_is_a_clear_error_and_leaves_nothing_running(asterisk_root):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        runtime = rt.AsteriskRuntime(extensions=rt.GENERAL, root=asterisk_root, ami_port=port)
        with pytest.raises(Unreachable) as err:
            runtime.start(timeout=20)
    assert "AMI" in err.value.message
    assert runtime.process is None
    assert not runtime.host_path(runtime.base).exists()


def test_not_provisioned_root_is_a_clear_error(tmp_path):
    runtime = rt.AsteriskRuntime(root=tmp_path)
    with pytest.raises(Exception) as err:
        runtime.start()
    assert "provision" in str(err.value.hint or err.value)
