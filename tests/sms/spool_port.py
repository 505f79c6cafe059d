"""A modem port whose SIM is a folder and whose network is an append-only file, so it survives SIGKILL of
the daemon that uses it: the crash test's model of a real modem.

- SIM: one JSON file per received SMS in ``<spool>/sim``; the test drops them in (write + rename), the
  port announces each new one once per connection (like +CMTI) and ``delete_stored`` unlinks it.
- Network: every send appends one line ``phone<TAB>text`` to ``<spool>/network.log`` with one write() on an
  O_APPEND descriptor, before send() returns: once written it "reached the phone", whatever happens next.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
import time
from datetime import datetime
from pathlib import Path

from cc.gsm.types import IncomingSms, ModemHealth, SentPart


class SpoolPort:
    _refs = itertools.count(1)

    def __init__(self, spool: str | Path, *, send_delay: float = 0.0, poll: float = 0.02) -> None:
        self.spool = Path(spool)
        self.sim = self.spool / "sim"
        self.sim.mkdir(parents=True, exist_ok=True)
        self.send_delay = send_delay
        self.poll = poll
        self.queue: queue.Queue = queue.Queue()
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._fd: int | None = None
        self._thread: threading.Thread | None = None

    def connect(self) -> None:
        self._fd = os.open(self.spool / "network.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._seen = {p.name for p in self.sim.glob("*.json")}  # stored_messages() hands these over
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            for path in sorted(self.sim.glob("*.json")):
                if path.name not in self._seen:
                    self._seen.add(path.name)
                    sms = self._read(path)
                    if sms is not None:
                        self.queue.put(sms)

    def _read(self, path: Path) -> IncomingSms | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return IncomingSms(data["sender"], data["text"], datetime.fromisoformat(data["at"]), 1, (path.name,))

    def send(self, phone: str, text: str, *, status_report: bool = True, timeout: float = 30) -> list[SentPart]:
        if self.send_delay:  # the modem takes its time before and after the network has it
            time.sleep(self.send_delay / 2)
        os.write(self._fd, (json.dumps([phone, text], ensure_ascii=False) + "\n").encode("utf-8"))
        if self.send_delay:
            time.sleep(self.send_delay / 2)
        return [SentPart(next(self._refs) % 256, 1, 1)]

    def events(self) -> queue.Queue:
        return self.queue

    def stored_messages(self) -> list[IncomingSms]:
        found = [self._read(p) for p in sorted(self.sim.glob("*.json"))]
        return [sms for sms in found if sms is not None]

    def delete_stored(self, sms: IncomingSms) -> None:
        for name in sms.storage_refs:
            try:
                (self.sim / name).unlink()
            except FileNotFoundError:
                pass

    def health(self) -> ModemHealth:
        return ModemHealth(20, True, "SPOOL", "000000000000000", "spool")


def drop_sms(spool: str | Path, name: str, sender: str, text: str, at: datetime) -> None:
    """The test side: a phone sends an SMS; it lands on the SIM."""
    sim = Path(spool) / "sim"
    sim.mkdir(parents=True, exist_ok=True)
    tmp = sim / f".{name}.tmp"
    tmp.write_text(json.dumps({"sender": sender, "text": text, "at": at.isoformat()}), encoding="utf-8")
    tmp.rename(sim / f"{name}.json")


def network_log(spool: str | Path) -> list[tuple[str, str]]:
    path = Path(spool) / "network.log"
    if not path.exists():
        return []
    return [tuple(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
