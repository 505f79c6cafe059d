"""A scripted FastAGI peer on 127.0.0.1 for the Asterisk wiring tests (importable under a unique name:
several test folders have a conftest.py, so ``from conftest import ...`` is ambiguous)."""

from __future__ import annotations

import queue
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class AgiCall:
    env: dict[str, str]
    replies: list[str] = field(default_factory=list)  # one "200 result=..." line per command sent


class AgiListener:
    """A scripted FastAGI peer: for each call, reads the AGI environment, sends ``script`` (a list of
    commands) one by one, records each reply, then closes. ``calls`` gets one ``AgiCall`` per call."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.calls: queue.Queue[AgiCall] = queue.Queue()
        self._server = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, script: str = "inbound") -> str:
        return f"agi://127.0.0.1:{self.port}/{script}"

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        call = AgiCall(env={})
        try:
            with conn, conn.makefile("rw", encoding="utf-8", newline="\n") as stream:
                for line in stream:
                    line = line.strip()
                    if not line:
                        break
                    key, _, value = line.partition(": ")
                    call.env[key] = value
                for command in self.script:
                    stream.write(command + "\n")
                    stream.flush()
                    reply = stream.readline().strip()
                    call.replies.append(reply)
                    if not reply or reply == "HANGUP":
                        break
        except OSError:
            pass
        self.calls.put(call)

    def next_call(self, timeout: float = 10.0) -> AgiCall:
        return self.calls.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)
