"""Suite-wide hooks: the guard on open file descriptors (tests/fd_guard.py).

A test after which the process still holds far more descriptors than at the start (after a garbage
collection) fails at teardown; descriptors only the garbage collector closed are listed as a warning at the
end of the run. ``CC_FD_TRACE=1`` adds per-test figures and where unclosed SQLite connections were opened.
"""

from __future__ import annotations

import os

import fd_guard
import pytest

_guard: fd_guard.Guard | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _guard
    if fd_guard.available():
        _guard = fd_guard.Guard(trace=os.environ.get("CC_FD_TRACE") == "1")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201
    result = yield  # every fixture this test was the last user of is finalized by now
    fd_guard.close_registered()  # what helpers handed to fd_guard.close_after_test()
    if _guard is not None:
        failure = _guard.after_test(item.nodeid)
        if failure:
            pytest.fail(failure, pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if _guard is not None:
        for line in _guard.summary():
            terminalreporter.write_line(line)
