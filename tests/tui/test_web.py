"""``cc agent --web``: textual-serve serves the page, and a browser's websocket runs the same console."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("textual_serve")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_web_serves_the_console(db_file):
    import aiohttp

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cc", "--db", str(db_file), "agent", "--web", "--port", str(port), "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.1)
        assert "textual" in page

        async def console_text() -> str:
            seen = ""
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24") as ws:
                    end = time.monotonic() + 20
                    while "Agent console" not in seen and time.monotonic() < end:
                        try:
                            msg = await ws.receive(timeout=1)
                        except asyncio.TimeoutError:
                            continue
                        if msg.type == aiohttp.WSMsgType.BINARY:
                            seen += msg.data.decode("utf-8", "replace")
                        elif msg.type == aiohttp.WSMsgType.TEXT:
                            seen += msg.data
                        elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
            return seen

        assert "Agent console" in asyncio.run(console_text())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
