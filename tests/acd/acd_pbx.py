"""A small call center on the real Asterisk for the ACD's gap tests: the FastAGI server with the IVR's
queue node, the ACD's answered context, the call-control context (transfers, click-to-dial, call backs)
and test phones: agents ``Local/NNNN@cc-test-xagent`` answer and stay on the line (99NN never answer),
customers ``Local/DIGITS@cc-test-xcustomer`` answer and stay (8613900139000 never answers)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from acd_helpers import make_db

from cc.config import Config
from cc.store.calls import connect
from cc.telephony import asterisk_runtime as rt

TREE = """
name: acd gaps
language: zh
start: q
prompts: {}
nodes:
  q: {kind: queue, queue: orders}
"""

QUEUES = """
queues:
  orders:
    service: orders
    ring_seconds: 5
    wrap_up_seconds: 30
    announce: {every_seconds: 0}
    overflow: {max_wait_seconds: 3, then: callback}
    no_agents: wait
  changes:
    service: changes
    ring_seconds: 5
    wrap_up_seconds: 30
    announce: {every_seconds: 0}
    no_agents: wait
"""


def dialplan(port: int) -> str:
    return f"""
[cc-test-acd]
exten => 100,1,AGI(agi://127.0.0.1:{port}/inbound)
 same => n,Hangup()

[cc-test-xcaller]
; a caller who stays on the line (CC_HOLD seconds)
exten => s,1,Answer()
 same => n,Wait(${{IF($["${{CC_HOLD}}" = ""]?20:${{CC_HOLD}})}})
 same => n,Hangup()

[cc-test-xagent]
exten => _99XX,1,UserEvent(CcAgentRang,Agent: ${{EXTEN}})
 same => n,Wait(60)
exten => _X.,1,UserEvent(CcAgentRang,Agent: ${{EXTEN}})
 same => n,Answer()
 same => n,UserEvent(CcAgentUp,Agent: ${{EXTEN}})
 same => n,Wait(${{IF($["${{CC_TALK}}" = ""]?20:${{CC_TALK}})}})
 same => n,Hangup()

[cc-test-xcustomer]
exten => 8613900139000,1,UserEvent(CcCustomerRang,Number: ${{EXTEN}})
 same => n,Ringing()
 same => n,Wait(60)
exten => _X.,1,UserEvent(CcCustomerRang,Number: ${{EXTEN}})
 same => n,Answer()
 same => n,UserEvent(CcCustomerUp,Number: ${{EXTEN}})
 same => n,Wait(3)
 same => n,Hangup()
"""


@dataclass
class Pbx:
    config: Config
    acd: object
    server: object
    asterisk: object

    def q(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.acd.store.conn.execute(sql, params).fetchall()

    def wait(self, predicate, timeout: float = 30.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = predicate()
            if got:
                return got
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def call(self, number: str, hold: int = 20) -> str:
        """A caller dials the hotline (the IVR's queue node); returns the caller's channel id."""
        call_id = f"caller-{secrets.token_hex(4)}"
        self.asterisk.ami.action("Originate", variables={"CC_HOLD": str(hold)}, **{
            "Channel": "Local/s@cc-test-xcaller", "Context": "cc-test-acd", "Exten": "100", "Priority": "1",
            "CallerID": f"<{number}>", "Timeout": "30000", "Async": "true", "ChannelId": call_id})
        return call_id

    def agent(self, user: str, ext: str, skills=("orders:5",), group: str = "") -> None:
        self.acd.set_agent(user, f"Local/{ext}@cc-test-xagent", list(skills), group)
        self.acd.change_state(user, "login")

    def state(self, user: str) -> str:
        return self.acd.agent_view(user)["state"]


def make_pbx(asterisk, tmp_path: Path, *, queues: str = QUEUES, users=("a1", "a2", "a3", "sue"), serve: bool = True):
    """(Pbx, stop): the server is running (``serve``); ``stop()`` drains it and closes the store."""
    from cc.telephony.acd_dialplan import render_acd_contexts
    from cc.telephony.acd_wiring import acd_service
    from cc.telephony.control_dialplan import MODULES, dialplan_from_config, render_control
    from cc.telephony.server import make_server

    db = tmp_path / "cc.db"
    make_db(db, users=list(users))
    (tmp_path / "tree.yaml").write_text(TREE, encoding="utf-8")
    (tmp_path / "queues.yaml").write_text(queues, encoding="utf-8")
    port = rt.free_port()
    config = Config(db=str(db))
    config.agi.host, config.agi.port = "127.0.0.1", port
    config.ivr.tree = str(tmp_path / "tree.yaml")
    rec_chroot = f"{asterisk.base}/spool/acdx-{secrets.token_hex(4)}"
    rec_host = asterisk.host_path(rec_chroot)
    rec_host.mkdir(parents=True)
    config.ivr.voicemail_dir, config.ivr.asterisk_recordings_dir = str(rec_host), rec_chroot
    config.acd.queues = str(tmp_path / "queues.yaml")
    config.acd.recordings_dir, config.acd.asterisk_recordings_dir = str(rec_host), rec_chroot
    config.acd.poll_seconds = 0.3
    config.acd.enabled = True
    config.acd.handler_lease_seconds = 3
    config.acd.callbacks = True
    config.acd.callback_retry_seconds = 1
    config.acd.callback_max_attempts = 2
    config.asterisk.ami.host, config.asterisk.ami.port = "127.0.0.1", asterisk.ami_port
    config.asterisk.ami.username, config.asterisk.ami.secret = asterisk.ami_username, asterisk.ami_secret
    control = config.asterisk.control
    control.outbound_dial = "Local/{digits}@cc-test-xcustomer/n"
    control.ring_seconds = 3
    control.caller_id = "116114"
    for module in MODULES:
        asterisk.cli(f"module load {module}")
    asterisk.write_extensions(rt.GENERAL + dialplan(port) + render_acd_contexts()
                              + render_control(dialplan_from_config(config)) + rt.CALLER_CONTEXTS)
    server = make_server(config, "127.0.0.1", port) if serve else None
    if server is not None:
        server.start()
    acd = acd_service(config, connect(str(db)))
    pbx = Pbx(config, acd, server, asterisk)

    def stop() -> None:
        if server is not None:
            server.stop(drain_seconds=10)
        acd.store.close()

    return pbx, stop


def write_config(config: Config, path: Path) -> Path:
    """The config as a YAML file (for a server run in its own process)."""
    import dataclasses

    import yaml

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None and k != "source"}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    path.write_text(yaml.safe_dump(clean(dataclasses.asdict(config)), allow_unicode=True), encoding="utf-8")
    return path
