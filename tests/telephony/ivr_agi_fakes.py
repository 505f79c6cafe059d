"""A scripted Asterisk for AGI handler tests: it sends the AGI environment, answers each command the way
Asterisk 22 does (reply lines recorded from the real one), presses the caller's keys, and can hang up,
close mid-command or send garbage. Every exchange is kept as a transcript."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


@dataclass
class FakeCaller:
    callerid: str = "13800138000"
    script: str = "inbound"
    keys: list[str] = field(default_factory=list)  # one per WAIT FOR DIGIT / GET DATA ('' = timeout)
    uniqueid: str = "1700000000.1"
    hangup_at: str | None = None  # command prefix: reply "HANGUP" instead (the caller hangs up there)
    close_at: str | None = None  # command prefix: close the connection without replying
    garbage_at: str | None = None  # command prefix: reply garbage
    env_extra: dict[str, str] = field(default_factory=dict)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def env_lines(self) -> str:
        env = {
            "agi_network": "yes",
            "agi_network_script": self.script,
            "agi_request": f"agi://127.0.0.1:4573/{self.script}",
            "agi_channel": "Local/s@cc-test-caller-00000001;2",
            "agi_language": "en",
            "agi_type": "Local",
            "agi_uniqueid": self.uniqueid,
            "agi_version": "22.0.0",
            "agi_callerid": self.callerid,
            "agi_calleridname": "unknown",
            "agi_dnid": "116114",
            "agi_context": "cc-inbound",
            "agi_extension": "116114",
            "agi_priority": "4",
            "agi_enhanced": "0.0",
            "agi_accountcode": "",
            "agi_threadid": "140000000000000",
            **self.env_extra,
        }
        return "".join(f"{k}: {v}\n" for k, v in env.items()) + "\n"

    def commands(self) -> list[str]:
        return [c for c, _ in self.transcript]

    def reply(self, command: str) -> str | None:
        """Asterisk's reply to one command; None = close the connection."""
        for prefix, action in ((self.close_at, None), (self.hangup_at, "HANGUP"), (self.garbage_at, "HELLO? ~~~")):
            if prefix and command.startswith(prefix):
                return action
        verb = command.split(" ")
        head = " ".join(verb[:2])
        if head in ("WAIT FOR", "GET DATA"):
            key = self.keys.pop(0) if self.keys else ""
            if head == "GET DATA":
                return f"200 result={key}" if key else "200 result= (timeout)"
            return f"200 result={ord(key)}" if key else "200 result=0"
        if head == "STREAM FILE":
            return "200 result=0 endpos=11040"
        if head == "RECORD FILE":
            return "200 result=35 (dtmf) endpos=24000"
        if head == "SET VARIABLE" or command == "HANGUP":
            return "200 result=1"
        if head == "GET VARIABLE":
            return "200 result=0"
        return "200 result=0"


def play_asterisk(sock: socket.socket, caller: FakeCaller, timeout: float = 10.0) -> None:
    """Be Asterisk on ``sock`` for one call (blocking); fills ``caller.transcript``."""
    sock.settimeout(timeout)
    try:
        with sock, sock.makefile("rw", encoding="utf-8", newline="\n") as stream:
            stream.write(caller.env_lines())
            stream.flush()
            dead = False
            while True:
                line = stream.readline()
                if not line:
                    break
                command = line.rstrip("\n")
                if dead:
                    answer: str | None = "511 Command Not Permitted on a dead channel or intercepted channel"
                else:
                    answer = caller.reply(command)
                caller.transcript.append((command, answer or "<closed>"))
                if answer is None:
                    sock.shutdown(socket.SHUT_RDWR)
                    break
                stream.write(answer + "\n")
                stream.flush()
                if answer == "HANGUP" or command == "HANGUP":
                    dead = True
    except OSError as exc:  # the handler closed first: fine
        caller.error = exc
    finally:
        caller.done.set()


def start_asterisk(sock: socket.socket, caller: FakeCaller) -> threading.Thread:
    thread = threading.Thread(target=play_asterisk, args=(sock, caller), daemon=True)
    thread.start()
    return thread
