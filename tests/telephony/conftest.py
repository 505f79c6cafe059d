"""Fixtures for tests against a real Asterisk 22 (the chroot from scripts/provision-asterisk.sh).

- ``asterisk`` (session): a running ``cc.telephony.asterisk_runtime.AsteriskRuntime``. Provisioned on first
  use (cached in /var/cache/cc-asterisk/root or $CC_ASTERISK_ROOT). Where that is impossible (not root, no
  package server) the test is skipped with the reason; with CC_REQUIRE_ASTERISK=1 it fails instead.
  Tests load their own dialplan with ``asterisk.write_extensions(text)`` (append ``rt.CALLER_CONTEXTS``
  so ``asterisk.call(...)`` works) or through the ``hotline`` fixture.
- ``agi_listener``: a tiny scripted FastAGI peer on 127.0.0.1 (a free port) for wiring tests.
- ``hotline(agi_url, **settings)``: loads the shipped hotline dialplan (+ the test contexts) and returns
  its ``DialplanSettings``.

Mark tests that use them ``@pytest.mark.asterisk``. ``CC_KEEP_ASTERISK=1`` keeps the session Asterisk's
run folder (configs, ``log/full``) under ``<root>/cc-runs/`` for debugging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cc.errors import CcError
from cc.telephony import asterisk_runtime as rt
from cc.telephony import dialplan


def _unavailable(reason: str) -> None:
    if os.environ.get("CC_REQUIRE_ASTERISK") == "1":
        pytest.fail(f"real Asterisk required (CC_REQUIRE_ASTERISK=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"real Asterisk unavailable: {reason} (run scripts/provision-asterisk.sh as root)")


@pytest.fixture(scope="session")
def asterisk_root():
    if os.geteuid() != 0:
        _unavailable("not root (debootstrap, chroot and mounts need root)")
    if not rt.is_provisioned():
        try:
            rt.provision()
        except CcError as exc:
            _unavailable(exc.message)
    return rt.root_path()


@pytest.fixture(scope="session")
def asterisk(asterisk_root) -> Iterator[rt.AsteriskRuntime]:
    runtime = rt.AsteriskRuntime(extensions=rt.GENERAL + rt.CALLER_CONTEXTS, root=asterisk_root,
                                 keep_files=os.environ.get("CC_KEEP_ASTERISK") == "1")
    try:
        runtime.start(timeout=60)
    except CcError as exc:
        _unavailable(f"Asterisk did not start: {exc.message}")
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def hotline(asterisk):
    """Load the shipped hotline dialplan (what `cc asterisk config` writes) into the running Asterisk:
    ``hotline(agi_url=..., operator_dial=..., **settings) -> DialplanSettings``. The test contexts
    (``CALLER_CONTEXTS``) are always appended, so ``asterisk.call(settings.hotline, settings.context)`` works."""

    def load(agi_url: str, *, extra: str = "", **kwargs: object) -> dialplan.DialplanSettings:
        kwargs.setdefault("hotline", "116114")
        kwargs.setdefault("operator_dial", "Local/s@cc-test-operator")
        settings = dialplan.DialplanSettings(agi_url=agi_url, **kwargs)  # type: ignore[arg-type]
        asterisk.write_extensions(rt.GENERAL + dialplan.render_inbound(settings) + rt.CALLER_CONTEXTS + extra)
        return settings

    return load


import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# tests/acd loads this file by path, before this folder is on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripted_agi import AgiListener  # noqa: E402


@pytest.fixture
def agi_listener():
    """Factory: ``agi_listener(["ANSWER", "WAIT FOR DIGIT 5000", ...])`` -> a running ``AgiListener``."""
    listeners: list[AgiListener] = []

    def make(script: list[str]) -> AgiListener:
        listener = AgiListener(script)
        listeners.append(listener)
        return listener

    yield make
    for listener in listeners:
        listener.close()
