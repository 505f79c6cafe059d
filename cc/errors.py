"""The one error family users see.

Every refusal or failure a person can act on is a ``CcError`` with a message and a hint. The CLI and the
TUIs translate it once, at the boundary: ``Error: ...`` / ``Hint: ...`` on stderr and ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1  # a business rule said no (not enough stock, wrong role, ...)
    USAGE = 2  # bad command line, bad config file, bad input file
    UNREACHABLE = 3  # Asterisk, the modem or the dairy endpoint did not answer
    INTERRUPTED = 130


class CcError(Exception):
    exit_code: ExitCode = ExitCode.REFUSED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotFound(CcError):
    """Something named on the command line or in a file does not exist."""


class Refused(CcError):
    """A business rule refuses the operation (balance, stock, state, role)."""


class PermissionDenied(Refused):
    """The acting user's role may not do this."""


class UsageError(CcError):
    exit_code = ExitCode.USAGE


class ConfigError(CcError):
    exit_code = ExitCode.USAGE


class Unreachable(CcError):
    exit_code = ExitCode.UNREACHABLE
