"""A hand-written fake of the call-control port the console drives (``CallControlService``: dial, transfer,
conference, hangup, mute, pickup): it records every call and answers like the real service does. The real
service is tested against Asterisk in tests/telephony; the console's own path to a real channel in
tests/tui/test_console_asterisk.py."""

from __future__ import annotations

from contextlib import nullcontext


class FakeCallControl:
    def __init__(self, *, picked_from: str = "") -> None:
        self.calls: list[tuple] = []
        self.picked_from = picked_from
        self.follow_acd = False  # a click-to-dial puts the agent on_call in the ACD, as the real hook does
        self.acd = None  # the console's AcdService (its thread's connection), set by with_control
        self._dials = 0
        self.ended: set[int] = set()
        self.unreachable = False

    def dial(self, user: str, number: str) -> dict:
        self.calls.append(("dial", user, number))
        self._dials += 1
        call = f"cc-dial-fake{self._dials}"
        if self.follow_acd and self.acd is not None:
            self.acd.dialing(user, call)
        return {"call": call, "agent": user, "number": number}

    def transfer(self, call: str, target: str, *, attended: bool = False) -> dict:
        self.calls.append(("transfer", call, target, attended))
        return {"call": call, "target": target, "attended": attended, "agent": call}

    def conference(self, call: str, target: str) -> dict:
        self.calls.append(("conference", call, target))
        return {"call": call, "target": target, "agent": call}

    def hangup(self, call: str) -> dict:
        self.calls.append(("hangup", call))
        return {"call": call, "agent": call}

    def mute(self, call: str, on: bool = True) -> dict:
        self.calls.append(("mute", call, on))
        return {"call": call, "muted": on, "agent": call}

    def channels(self) -> list:
        """Asterisk's channels: the agent leg of each click-to-dial call still up (``hang_up_dials`` ends
        them); ``unreachable`` makes it fail like a dead AMI link."""
        self.calls.append(("channels",))
        if self.unreachable:
            raise OSError("connection refused")
        from cc.services.call_control import LiveChannel

        return [LiveChannel(f"PJSIP/1001-{i:08x}", uniqueid=f"cc-dial-fake{i}") for i in range(1, self._dials + 1)
                if i not in self.ended]

    def hang_up_dials(self) -> None:
        self.ended = set(range(1, self._dials + 1))

    def pickup(self, user: str) -> dict:
        self.calls.append(("pickup", user))
        return {"agent": user, "picked_from": self.picked_from, "channel": "PJSIP/1002-00000001"}


def with_control(factory, control: FakeCallControl):
    """A console factory whose call control is ``control`` (instead of an AMI link)."""

    def make(user):
        console = factory(user)
        console.control = lambda: nullcontext(control)
        control.acd = console.acd
        return console

    make.close = getattr(factory, "close", lambda: None)  # the app's backend closes its thread's connection
    return make
