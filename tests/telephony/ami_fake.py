"""A fake Asterisk manager on 127.0.0.1 for the AMI client's tests: each accepted connection runs a
script (a function of a ``Peer``) on its own thread. Transcripts below are what Asterisk 22 sends."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from cc.telephony.ami import parse_message, split_messages

BANNER = b"Asterisk Call Manager/9.0.0\r\n"

# Recorded from Asterisk 22 (channel names and ids shortened).
NEWCHANNEL = (
    "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/s@cc-test-caller-00000001;1\r\n"
    "ChannelState: 0\r\nChannelStateDesc: Down\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n"
    "ConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\n"
    "Context: cc-test-caller\r\nExten: s\r\nPriority: 1\r\nUniqueid: 1764120000.1\r\nLinkedid: 1764120000.1\r\n\r\n"
)
VARSET_CHANVARIABLE = (
    "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/1001-00000002\r\nChannelState: 6\r\n"
    "ChannelStateDesc: Up\r\nUniqueid: 1764120000.2\r\nLinkedid: 1764120000.1\r\n"
    "ChanVariable: CC_CALL_TAG=abc123\r\nChanVariable: CC_AGENT=wang\r\n"
    "ChanVariable(PJSIP/1001-00000002): CDR(dst)=1001\r\n"
    "Variable: MIXMONITOR_FILENAME\r\nValue: /var/spool/asterisk/monitor/x.wav\r\n\r\n"
)
ODD_HEADERS = (
    "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: CcOdd\r\nno colon here at all\r\n"
    ":: starts with colons\r\nKey With Spaces: value\r\nEmpty:\r\nUnicode: 您前面还有3位\r\n\r\n"
)


class Peer:
    """One accepted connection: ``send`` raw text, ``read_action`` (parsed), ``close``."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""
        self.actions: list[dict[str, str]] = []

    def send(self, data: str | bytes) -> None:
        self.conn.sendall(data.encode() if isinstance(data, str) else data)

    def read_action(self, timeout: float = 5.0) -> dict[str, str]:
        self.conn.settimeout(timeout)
        while True:
            blocks, rest = split_messages(self.buffer)
            if blocks:
                self.buffer = b"".join(b + b"\r\n\r\n" for b in blocks[1:]) + rest
                action = parse_message(blocks[0])
                self.actions.append(action)
                return action
            chunk = self.conn.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            self.buffer += chunk

    def login(self, ok: bool = True) -> dict[str, str]:
        self.send(BANNER)
        action = self.read_action()
        assert action["Action"] == "Login", action
        if ok:
            self.respond(action, "Success", Message="Authentication accepted")
            self.send("Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
        else:
            self.respond(action, "Error", Message="Authentication failed")
        return action

    def respond(self, action: dict[str, str], response: str = "Success", **headers: str) -> None:
        lines = [f"Response: {response}", f"ActionID: {action['ActionID']}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.send("\r\n".join(lines) + "\r\n\r\n")

    def close(self) -> None:
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class FakeAmi:
    """``FakeAmi([script1, script2, ...])``: the n-th connection runs the n-th script (the last one
    repeats). A script returning normally leaves the connection open until the server stops."""

    def __init__(self, scripts: list[Callable[[Peer], None]]) -> None:
        self.scripts = scripts
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self.connections = threading.Semaphore(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        count = 0
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            script = self.scripts[min(count, len(self.scripts) - 1)]
            count += 1
            peer = Peer(conn)
            self.peers.append(peer)
            self.connections.release()
            threading.Thread(target=self._run, args=(script, peer), daemon=True).start()

    def _run(self, script: Callable[[Peer], None], peer: Peer) -> None:
        try:
            script(peer)
        except (ConnectionError, OSError, TimeoutError):
            pass
        except BaseException as exc:  # noqa: BLE001 -- reported by the test
            self.errors.append(exc)

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        for peer in self.peers:
            peer.close()
        self._thread.join(timeout=2)


def serve_forever(peer: Peer, handler: Callable[[Peer, dict[str, str]], None] | None = None) -> None:
    """Answer every action: Ping -> Pong, anything else Success (or what ``handler`` does)."""
    while True:
        action = peer.read_action(timeout=30)
        if handler is not None:
            handler(peer, action)
        elif action.get("Action") == "Ping":
            peer.respond(action, "Success", Ping="Pong")
        elif action.get("Action") == "Logoff":
            peer.respond(action, "Goodbye")
            peer.close()
            return
        else:
            peer.respond(action, "Success", Message="ok")
