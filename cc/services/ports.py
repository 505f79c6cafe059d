"""Ports the telephony services talk to; adapters (cc/telephony/) implement them.

``Channel`` is one live call as the IVR sees it. Every method may raise ``CallerHungUp`` (the caller hung
up or the connection to Asterisk closed) or ``ChannelError`` (Asterisk sent something we cannot use, or
did not answer in time). Both end the call's handler; the call record says which.
"""

from __future__ import annotations

from typing import Protocol


class CallerHungUp(Exception):
    """The caller hung up, or the AGI connection closed."""


class CallCut(CallerHungUp):
    """The AGI server cut the connection (it stopped while the call went on); handled as a hang-up."""


class ChannelError(Exception):
    """The AGI peer broke the protocol (garbage, a timeout, an unusable reply)."""


class Channel(Protocol):
    env: dict[str, str]

    def answer(self) -> None: ...

    def play(self, file: str, keys: str = "") -> str:
        """Play a sound file (path without extension); returns the key that interrupted it, or ''."""
        ...

    def say_number(self, number: int, keys: str = "") -> str: ...

    def say_digits(self, digits: str, keys: str = "") -> str: ...

    def wait_key(self, timeout: int) -> str:
        """Wait ``timeout`` seconds for one key; '' when none came."""
        ...

    def read_digits(self, timeout: int, max_digits: int) -> str:
        """Collect keys until # or the timeout."""
        ...

    def record(self, file: str, fmt: str, max_seconds: int, beep: bool) -> int:
        """Record to ``file`` (no extension) until # or ``max_seconds``; returns the length in ms
        (0: unknown), or -1 when nothing could be recorded."""
        ...

    def transfer(self, number: str) -> str:
        """Dial an external number; returns Asterisk's DIALSTATUS."""
        ...

    def set_variable(self, name: str, value: str) -> None: ...

    def hangup(self) -> None: ...
