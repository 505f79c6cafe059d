"""Classic AGI through the real Asterisk: AGI() starts a host program per call (``host_access``)."""

from __future__ import annotations

import json
import sys

import pytest

from cc.telephony import asterisk_runtime as rt

pytestmark = pytest.mark.asterisk

SCRIPT = r'''
import json, sys
env = {}
for line in sys.stdin:
    line = line.strip()
    if not line:
        break
    key, _, value = line.partition(": ")
    env[key] = value
replies = []
for command in ("ANSWER", "WAIT FOR DIGIT 5000", "SET VARIABLE CC_IVR_STATUS done"):
    sys.stdout.write(command + "\n")
    sys.stdout.flush()
    replies.append(sys.stdin.readline().strip())
with open(sys.argv[1], "w") as out:
    json.dump({"env": env, "replies": replies, "args": sys.argv[2:]}, out)
'''


@pytest.fixture(scope="module")
def classic(asterisk_root, tmp_path_factory):
    runtime = rt.AsteriskRuntime(extensions=rt.GENERAL + rt.CALLER_CONTEXTS, root=asterisk_root, host_access=True)
    runtime.start(timeout=60)
    try:
        yield runtime
    finally:
        runtime.stop()


def test_classic_agi_runs_a_host_program_per_call(classic, tmp_path):
    script = tmp_path / "agi.py"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out.json"
    classic.write_extensions(rt.GENERAL + f"""
[classic]
exten => 200,1,AGI({classic.host_exec},{sys.executable},{script},{out},inbound)
 same => n,UserEvent(ClassicDone,Status: ${{AGISTATUS}},Ivr: ${{CC_IVR_STATUS}},Tag: ${{CC_CALL_TAG}})
 same => n,Hangup()
""" + rt.CALLER_CONTEXTS)
    tag = classic.call("200", "classic", keys="7", wait=0.5, hold=10)
    done = classic.wait_for_event("UserEvent", UserEvent="ClassicDone", Tag=tag, timeout=15)
    assert (done["Status"], done["Ivr"]) == ("SUCCESS", "done")
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["args"] == ["inbound"]
    assert result["env"]["agi_extension"] == "200"
    assert result["replies"][:2] == ["200 result=0", "200 result=55"]
