"""The FastAGI server: every call a greenlet on one event loop, routing by the script name in the AGI URL.

``agi://127.0.0.1:4573/inbound`` runs the IVR from its start; ``/staff`` (or any name in the tree's
``entries``) from that entry. A peer that sends garbage or closes mid-command ends only its own handler
(the call record says why); the server keeps serving. SIGTERM/SIGINT stop it cleanly: no new calls, the
calls in progress get ``drain_seconds`` to finish and are then cut (their records say so).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from cc.config import Config
from cc.services.ports import CallerHungUp, ChannelError
from cc.telephony import handlers
from cc.telephony.agi import socket_agi
from cc.telephony.loop import READ, Hub

log = logging.getLogger("cc.agi")


class FastAgiServer:
    """Every call a greenlet on one event-loop thread (``cc.telephony.loop``). (A thread per call was
    measured worse: at 200 simultaneous calls each reply from Asterisk waited for the other calls' threads
    to hand over the GIL, and the added-latency p99 of 200 scripted callers was 9-12 ms, from the reply's
    arrival 100-500 ms.) The ACD's blocking work runs on threads of its own (``loop.blocking``)."""

    request_queue_size = 256  # listen backlog: the default of 5 made 50 simultaneous calls ten times slower
    ACCEPTS_PER_ROUND = 8  # a burst of new calls is admitted a few at a time, between the replies of calls

    def __init__(self, address: tuple[str, int], runtime: Any, config: Config, listener: socket.socket | None = None) -> None:
        """``listener``: a socket already listening (a worker process of ``serve(workers=N)`` accepts on the
        socket its parent bound), instead of binding ``address``."""
        self.runtime = runtime
        self.config = config
        self.active = 0
        self.total = 0
        self.idle = threading.Event()
        self.idle.set()
        # Set to a list to collect the per-command added latency: (call number, *AGI.gaps entry).
        self.gap_sink: list[tuple[int, str, float, float]] | None = None
        if listener is None:
            listener = socket.create_server(address, backlog=self.request_queue_size)  # SO_REUSEADDR on POSIX
        listener.setblocking(False)
        self.socket = listener
        self.server_address = listener.getsockname()
        self.hub = Hub()
        self._calls: dict[socket.socket, Any] = {}  # calls in progress: socket -> its stream (once it has one)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> threading.Thread:
        self.hub.selector.register(self.socket, READ, self._accept)
        self._thread = threading.Thread(target=self.hub.run, name="fastagi", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, drain_seconds: float = 5.0) -> bool:
        """Stop accepting, wait up to ``drain_seconds`` for calls in progress (and their records to be
        written); True when all finished. Calls still running then have their connections cut: each ends
        as a hang-up whose record says it was cut (``CallCut``), and the dialplan's fallback takes the
        caller."""
        if self._thread is None or not self._thread.is_alive():  # never started (or already stopped)
            self.socket.close()
            finished = ended = self.idle.wait(drain_seconds)
            self.hub.close()
        else:
            self.hub.post(self._stop_accepting)
            finished = ended = self.idle.wait(drain_seconds)
            if not finished:
                self.hub.post(self._cut_calls)
                ended = self.idle.wait(2.0)  # each cut call writes its record as it ends
            self.hub.stop()
            self._thread.join(5.0)
            if not self._thread.is_alive():
                self.hub.close()
        writer = getattr(self.runtime, "writer", None)
        if writer is not None:
            if ended:
                writer.close()
            else:
                writer.flush(drain_seconds)
        pool = getattr(self.runtime, "pool", None)
        if pool is not None:  # calls still running give their connections back later: closed then (keep=0)
            pool.close()
        return finished

    # --- on the loop ----------------------------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(self.ACCEPTS_PER_ROUND):
            try:
                sock, _address = self.socket.accept()
            except (BlockingIOError, InterruptedError):  # none left (or another worker took it)
                return
            except OSError as exc:  # out of descriptors: stop accepting for a moment, not spin
                log.warning("cannot accept an AGI connection: %s", exc)
                self.hub.selector.unregister(self.socket)
                self.hub.call_later(0.2, self._resume_accepting)
                return
            self.active += 1
            self.total += 1
            self.idle.clear()
            self._calls[sock] = None
            self.hub.spawn(self._call, sock, self.total)

    def _call(self, sock: socket.socket, call_no: int) -> None:
        """One call, on its greenlet. Never raises (that would end the loop)."""
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                agi = socket_agi(sock)
                self._calls[sock] = agi.stdin
            except (CallerHungUp, ChannelError) as exc:
                # Not even an AGI environment: nothing to route. Record it if we can tell what it was.
                self.runtime.fail_early({}, "", f"bad AGI session start: {exc}")
                return
            handlers.handle(agi, self.runtime, self.config)
            if self.gap_sink is not None:
                self.gap_sink.extend((call_no, *gap) for gap in agi.gaps)
        except Exception:  # never let one call take the server down
            log.exception("AGI handler failed")
        finally:
            self._calls.pop(sock, None)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            self.active -= 1
            if self.active == 0:
                self.idle.set()

    def _resume_accepting(self) -> None:
        if self.socket.fileno() >= 0:  # not closed by a stop meanwhile
            self.hub.selector.register(self.socket, READ, self._accept)

    def _stop_accepting(self) -> None:
        try:
            self.hub.selector.unregister(self.socket)
        except (KeyError, ValueError):
            pass
        self.socket.close()

    def _cut_calls(self) -> None:
        for sock, stream in list(self._calls.items()):
            if stream is not None:
                stream.cut = "cut when the AGI server stopped"
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the call's next read ends: CallCut, recorded
            except OSError:
                pass


def command_verb(command: str) -> str:
    """``STREAM FILE /x/y ""`` -> ``STREAM FILE``."""
    words = []
    for word in command.split(" "):
        if not (word.isalpha() and word.isupper()):
            break
        words.append(word)
    return " ".join(words)


def make_server(config: Config, host: str | None = None, port: int | None = None, runtime: Any = None, services: Any = None,
                listener: socket.socket | None = None) -> FastAgiServer:
    runtime = runtime or handlers.build_runtime(config, services=services, queued_writes=True)
    return FastAgiServer((host or config.agi.host, config.agi.port if port is None else port), runtime, config, listener)


def serve(config: Config, host: str | None = None, port: int | None = None, services: Any = None, ready: Any = None,
          workers: int = 1) -> int:
    """Run until SIGTERM or SIGINT (main thread). Returns the number of calls served. ``workers`` > 1: that
    many processes accept calls on one listening socket (see ``_serve_workers``)."""
    from cc.store.checkpoint import background_checkpoints

    if workers > 1:
        return _serve_workers(config, host, port, ready, workers)
    with background_checkpoints(config.db):  # a caller never waits for a WAL checkpoint between prompts
        return _serve_one(config, host, port, services=services, ready=ready)


def _serve_one(config: Config, host: str | None, port: int | None, *, services: Any = None, ready: Any = None,
               listener: socket.socket | None = None, worker: int | None = None) -> int:
    import signal

    # The loop gets the GIL back sooner (default 5 ms) from the other threads (the call-record writer, the
    # ACD's blocking work, checkpoints): a reply waiting on the loop waits for them.
    sys.setswitchinterval(0.0005)
    server = make_server(config, host, port, services=services, listener=listener)
    # What exists now (the imported modules, the tree, the pooled connections) lives as long as the process:
    # out of the collector's sight, so a collection during calls walks only what calls made (measured at 200
    # callers: the setup gap's median 0.6 -> 0.35 ms, fewer long pauses).
    import gc

    gc.collect()
    gc.freeze()
    # Diagnostics: on exit, write per-command added latency here, as JSON [[verb, ms from reading Asterisk's
    # reply, ms from its arrival in the kernel, call number], ...].
    timings = os.environ.get("CC_AGI_TIMINGS")
    if timings and worker is not None:
        timings = f"{timings}.{worker}"  # the parent merges the workers' files
    if timings:
        server.gap_sink = []
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    from cc.store.wallboard import AgiHeartbeat

    name = f"{server.server_address[0]}:{server.port}" + ("" if worker is None else f"#{worker}")
    heartbeat = AgiHeartbeat(config.db, name)  # the wallboard's "AGI up"
    try:
        server.start()
        if ready is not None:
            ready(server)
        while True:
            heartbeat.tick(server.active, server.total)
            if stop.wait(0.5):
                break
    finally:
        server.stop(drain_seconds=5.0)
        heartbeat.stopped(server.total)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if timings and server.gap_sink is not None:
            with open(timings, "w", encoding="utf-8") as out:
                json.dump([[command_verb(command), round(gap * 1000, 4), round(arrival * 1000, 4), call_no]
                           for call_no, command, gap, arrival in server.gap_sink], out)
    time.sleep(0)  # let daemon threads observe the closed socket
    return server.total


def _serve_workers(config: Config, host: str | None, port: int | None, ready: Any, workers: int) -> int:
    """Pre-fork: bind once, then ``workers`` processes accept calls on that socket (the kernel hands each
    connection to one of them), each with its own interpreter, database connections and call-record
    writer. One process runs every call on one core: when 200 calls' replies from Asterisk come at once,
    they queue on its loop, and N processes split that queue where there are cores to spare (on a 2-core
    machine that also runs Asterisk, two measured no better than one, with threads per call). A worker
    that dies is not replaced; the parent ends when none is left. SIGTERM or SIGINT stops them all; each
    drains its calls in progress. Returns the calls served."""
    import signal

    from cc.store.db import open_db

    listener = socket.create_server((host or config.agi.host, config.agi.port if port is None else port),
                                    backlog=FastAgiServer.request_queue_size)
    address = listener.getsockname()
    # Every worker's select() wakes for a new connection and one accept() gets it; the others' accept()
    # must fail at once (and not block: a worker stuck in accept() would never see its stop).
    listener.setblocking(False)
    open_db(config.db).conn.close()  # create and migrate the file once, before the workers open it
    children: dict[int, int] = {}  # pid -> the read end of the pipe it reports its call count on
    for worker in range(workers):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            os.close(reader)
            code, total = 0, 0
            try:
                total = _serve_one(config, None, None, listener=listener, worker=worker)
            except BaseException:  # noqa: BLE001
                log.exception("AGI worker %d failed", worker)
                code = 1
            finally:
                os.write(writer, str(total).encode())
                os._exit(code)
        os.close(writer)
        children[pid] = reader
    listener.close()  # the workers hold it
    from cc.store.checkpoint import Checkpointer

    # Started after the forks: a thread inside SQLite at the moment of a fork could leave the workers a
    # copy of a mutex it held.
    checkpointer = Checkpointer(config.db).start()
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    total = 0
    try:
        if ready is not None:
            ready(_Listening(address))
        while children and not stop.wait(0.2):
            total += _reap(children)  # a worker that died on its own
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        while children:
            total += _reap(children, block=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        checkpointer.stop()
        _merge_timings(workers)
    return total


class _Listening:
    """What ``ready`` is told of the workers' socket (like a FastAgiServer: ``server_address``, ``port``)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.server_address = address
        self.port = address[1]


def _reap(children: dict[int, int], block: bool = False) -> int:
    """Collect ended workers (wait for one when ``block``); returns the calls they served."""
    served = 0
    for pid in list(children):
        done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done == 0:
            continue
        reader = children.pop(pid)
        with os.fdopen(reader, "rb") as pipe:
            text = pipe.read().decode() or "0"
        served += int(text) if text.isdigit() else 0
        if block:
            break
    return served


def _merge_timings(workers: int) -> None:
    """CC_AGI_TIMINGS diagnostics: the workers' files, one list (call numbers made unique per worker)."""
    timings = os.environ.get("CC_AGI_TIMINGS")
    if not timings:
        return
    merged: list = []
    for worker in range(workers):
        part = f"{timings}.{worker}"
        if os.path.exists(part):
            with open(part, encoding="utf-8") as source:
                merged += [[*row[:3], row[3] + worker * 1_000_000] for row in json.load(source)]
            os.unlink(part)
    with open(timings, "w", encoding="utf-8") as out:
        json.dump(merged, out)
