"""AMI client: events per second through cc's client (64 KiB reads) against pyst2's ``Manager`` (the
baseline, one line at a time from a socket file), both reading the same burst of recorded Asterisk 22
events from a local server; and action round trips (Ping) from 1 and 8 threads.

    python bench/run.py ami
"""

from __future__ import annotations

import socket
import threading
import time

from bench._util import figure, percentile

EVENT = (
    "Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1001-{n:08x}\r\nChannelState: 0\r\n"
    "ChannelStateDesc: Down\r\nCallerIDNum: 1001\r\nCallerIDName: wang\r\nConnectedLineNum: <unknown>\r\n"
    "ConnectedLineName: <unknown>\r\nLanguage: en\r\nAccountCode: \r\nContext: cc-control\r\nExten: connect\r\n"
    "Priority: 1\r\nUniqueid: 1764120000.{n}\r\nLinkedid: 1764120000.{n}\r\n\r\n"
)
EVENTS = 50_000
BASELINE_EVENTS = 10_000


class _Server:
    """Answers the login, then on each action either replies (Ping) or, for ``UserEvent``, sends the burst."""

    def __init__(self, burst: bytes) -> None:
        self.burst = burst
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        from cc.telephony.ami import parse_message, split_messages

        conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
        buffer = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                blocks, buffer = split_messages(buffer)
                for block in blocks:
                    action = parse_message(block)
                    aid = action.get("ActionID", "")
                    name = action.get("Action", "").lower()
                    reply = f"Response: Success\r\nActionID: {aid}\r\nMessage: ok\r\n\r\n".encode()
                    if name == "ping":
                        reply = f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode()
                    try:
                        conn.sendall(reply)
                        if name == "userevent":
                            conn.sendall(self.burst)
                        if name == "logoff":
                            return
                    except OSError:
                        return

    def close(self) -> None:
        self.sock.close()


def _ours(server: _Server, count: int) -> float:
    from cc.telephony.ami import AmiClient

    done = threading.Event()
    seen = [0]

    def on_event(event: dict) -> None:
        if event.get("Event") == "Newchannel":
            seen[0] += 1
            if seen[0] == count:
                done.set()

    ami = AmiClient("127.0.0.1", server.port, "cc", "x", timeout=10)
    ami.subscribe(on_event)
    ami.connect()
    try:
        started = time.perf_counter()
        ami.action("UserEvent", {"UserEvent": "Burst"})
        if not done.wait(120):
            raise TimeoutError(f"only {seen[0]} of {count} events arrived")
        return count / (time.perf_counter() - started)
    finally:
        ami.close()


def _pyst2(server: _Server, count: int) -> float | None:
    try:
        from asterisk.manager import Manager
    except ImportError:
        return None
    done = threading.Event()
    seen = [0]

    def on_event(event: object, manager: object) -> None:
        seen[0] += 1
        if seen[0] == count:
            done.set()

    manager = Manager()
    manager.connect("127.0.0.1", server.port)
    try:
        manager.login("cc", "x")
        manager.register_event("Newchannel", on_event)
        started = time.perf_counter()
        manager.send_action({"Action": "UserEvent", "UserEvent": "Burst"})
        if not done.wait(120):
            return None
        return count / (time.perf_counter() - started)
    finally:
        try:
            manager.close()
        except Exception:  # noqa: BLE001 -- the baseline's own shutdown quirks
            pass


def _round_trips(server: _Server, threads: int, per_thread: int) -> list[float]:
    from cc.telephony.ami import AmiClient

    ami = AmiClient("127.0.0.1", server.port, "cc", "x", timeout=10, events=False).connect()
    samples: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        mine = []
        for _ in range(per_thread):
            t0 = time.perf_counter()
            ami.action("Ping")
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            samples.extend(mine)

    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
    finally:
        ami.close()
    return samples


def run() -> list[dict]:
    ours_server = _Server("".join(EVENT.format(n=n) for n in range(EVENTS)).encode())
    base_server = _Server("".join(EVENT.format(n=n) for n in range(BASELINE_EVENTS)).encode())
    try:
        ours = _ours(ours_server, EVENTS)
        baseline = _pyst2(base_server, BASELINE_EVENTS)
        out = [figure("ami_events_per_second", ours, "events/s", baseline=baseline)]
        for threads in (1, 8):
            samples = _round_trips(ours_server, threads, 2000 // threads)
            out.append(figure(f"ami_ping_p50_{threads}_threads", percentile(samples, 50), "ms", higher_is_better=False))
            out.append(figure(f"ami_ping_p99_{threads}_threads", percentile(samples, 99), "ms", higher_is_better=False))
        return out
    finally:
        ours_server.close()
        base_server.close()


if __name__ == "__main__":
    import json

    for item in run():
        print(json.dumps(item))
