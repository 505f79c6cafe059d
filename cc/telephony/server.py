"""The FastAGI server: one thread per call, routing by the script name in the AGI URL.

``agi://127.0.0.1:4573/inbound`` runs the IVR from its start; ``/staff`` (or any name in the tree's
``entries``) from that entry. A peer that sends garbage or closes mid-command ends only its own handler
(the call record says why); the server keeps serving. SIGTERM/SIGINT stop it cleanly: no new calls, the
calls in progress get ``drain_seconds`` to finish.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import sys
import threading
import time
from typing import Any

from cc.config import Config
from cc.services.ports import CallerHungUp, ChannelError
from cc.telephony import handlers
from cc.telephony.agi import socket_agi

log = logging.getLogger("cc.agi")


class _Handler(socketserver.BaseRequestHandler):
    server: FastAgiServer

    def handle(self) -> None:
        server = self.server
        sock: socket.socket = self.request
        with server.count_lock:
            server.active += 1
            server.total += 1
            call_no = server.total
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                agi = socket_agi(sock)
            except (CallerHungUp, ChannelError) as exc:
                # Not even an AGI environment: nothing to route. Record it if we can tell what it was.
                server.runtime.fail_early({}, "", f"bad AGI session start: {exc}")
                return
            handlers.handle(agi, server.runtime, server.config)
            if server.gap_sink is not None:
                server.gap_sink.extend((call_no, *gap) for gap in agi.gaps)
        except Exception:  # never let one call take the server down
            log.exception("AGI handler failed")
        finally:
            with server.count_lock:
                server.active -= 1
                if server.active == 0:
                    server.idle.set()
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FastAgiServer(socketserver.ThreadingTCPServer):
    """A thread per call, started as the call connects. (Threads kept for later calls, some started up
    front, were measured worse: a burst of connections then starts that many calls' set-up at the same
    instant, and the added-latency p99 of 200 simultaneous scripted callers went from 8-13 ms to 24-209 ms;
    starting a thread per call admits calls at the pace threads get to run.)"""

    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256  # the default of 5 made 50 simultaneous calls ten times slower
    block_on_close = False

    def __init__(self, address: tuple[str, int], runtime: Any, config: Config, listener: socket.socket | None = None) -> None:
        """``listener``: a socket already listening (a worker process of ``serve(workers=N)`` accepts on the
        socket its parent bound), instead of binding ``address``."""
        self.runtime = runtime
        self.config = config
        self.active = 0
        self.total = 0
        self.count_lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        # Set to a list to collect the per-command added latency: (call number, *AGI.gaps entry).
        self.gap_sink: list[tuple[int, str, float, float]] | None = None
        super().__init__(address, _Handler, bind_and_activate=listener is None)
        if listener is not None:
            self.socket.close()
            self.socket = listener
            self.server_address = listener.getsockname()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.setblocking(True)  # the call's reads block, with their timeout in the kernel (cc.telephony.agi)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.count_lock:
            self.idle.clear()
        super().process_request(request, client_address)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="fastagi", daemon=True)
        thread.start()
        return thread

    def stop(self, drain_seconds: float = 5.0) -> bool:
        """Stop accepting, wait up to ``drain_seconds`` for calls in progress (and their records to be
        written); True when all finished."""
        self.shutdown()
        self.server_close()
        finished = self.idle.wait(drain_seconds)
        writer = getattr(self.runtime, "writer", None)
        if writer is not None:
            if finished:
                writer.close()
            else:
                writer.flush(drain_seconds)
        pool = getattr(self.runtime, "pool", None)
        if pool is not None:  # calls still running give their connections back later: closed then (keep=0)
            pool.close()
        return finished


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

    # Hand the GIL over sooner (default 5 ms): a burst of calls otherwise queues whole intervals
    # between a reply from Asterisk and our next command.
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
    writer. One process runs every call's Python under one lock: at 200 simultaneous calls a reply from
    Asterisk waits for the other calls' threads, and N processes split that queue where there are cores
    to spare (on a 2-core machine that also runs Asterisk, two measured no better than one). A worker
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
