"""Real OS processes confirming the same order on one database file at the same moment: charged once."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import fd_guard
import pytest
from core_helpers import MILK, PHONE, make_services, query

from cc.clock import SystemClock

WORKERS = 2
ROUNDS = 10
WAIT = 30.0  # seconds, per answer


class Worker:
    def __init__(self, db_path: Path) -> None:
        script = Path(__file__).with_name("core_race_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, text: str) -> None:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"worker {self.proc.pid} did not answer within {WAIT} s") from None
        if line is None:
            raise AssertionError(f"worker {self.proc.pid} died: {self.proc.stderr.read()}")
        return line

    def stop(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(timeout=WAIT)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self.pump.join(WAIT)  # it reads stdout to its end, then the pipes can close
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:  # stdin: its buffered "quit" to a process that is gone
                pass


@pytest.fixture
def workers(world, db_path):
    started = [Worker(db_path) for _ in range(WORKERS)]
    yield started
    for worker in started:
        worker.stop()


def test_racing_confirmations_charge_once(world, db_path, workers):
    # The workers use the real clock (cc's CLI), so the orders are entered on it too.
    svc = fd_guard.close_after_test(make_services(db_path, SystemClock()))
    for round_no in range(ROUNDS):
        order = svc.orders.new(phone=PHONE, items=[(MILK, 1)], deliveries=2)
        for worker in workers:
            worker.send(f"prep {order.code}")
        assert [w.answer() for w in workers] == ["ready"] * WORKERS
        for worker in workers:  # all are blocked reading this line: they start within microseconds
            worker.send("go")
        results = [json.loads(w.answer()) for w in workers]

        winners = [r for r in results if r["exit"] == 0]
        losers = [r for r in results if r["exit"] != 0]
        assert len(winners) == 1, (round_no, results)
        assert "charged 10.00" in winners[0]["err"]
        for loser in losers:
            assert loser["exit"] == 1, loser
            assert f"Error: order {order.code} is already confirmed" in loser["err"], loser
            assert "Hint: " in loser["err"] and "Traceback" not in loser["err"], loser
            assert loser["out"] == ""
        charges = query(db_path, "SELECT * FROM ledger WHERE kind = 'charge' AND order_id = ?", (order.id,))
        assert len(charges) == 1 and charges[0]["amount_fen"] == -10_00
        assert svc.orders.get(order.code).status == "sent_to_dairy"

    assert svc.accounts.balance_fen(PHONE) == 100_00 - ROUNDS * 10_00
    assert svc.catalog.product(MILK)["quantity"] == 100 - ROUNDS * 2
    assert len(list((db_path.parent / "dairy").glob("*-order.json"))) == ROUNDS
