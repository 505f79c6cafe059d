"""What call control tells the ACD (``CallControlService(acd=AcdCallHook(...))``): an agent's click-to-dial
call makes the agent on_call and puts a hangup handler on the agent's channel that wraps them up when
the call ends; a transfer marks the ACD call and frees the transferring agent."""

from __future__ import annotations

from typing import Any

from cc.config import Config
from cc.services.acd import AcdService
from cc.telephony.acd_dialplan import hangup_handler_variable
from cc.telephony.queue_handler import gone_url


class AcdCallHook:
    def __init__(self, acd: AcdService, config: Config) -> None:
        self.acd = acd
        self.config = config

    def dialing(self, user: str, call: str) -> dict[str, str]:
        """The agent is about to be rung for a click-to-dial call: extra Originate variables."""
        if not self.acd.dialing(user, call):
            return {}
        name, value = hangup_handler_variable(gone_url(self.config, user, call))
        return {name: value}

    def dial_failed(self, user: str, call: str) -> None:
        self.acd.agent_gone(user=user, call_id=call)

    def transferring(self, call: str, route: str, agent: str = "", attended: bool = False, by: str = "") -> None:
        self.acd.transferring(call, route, agent, attended, by=by)

    def transfer_failed(self, call: str) -> None:
        self.acd.transferring(call, None)

    def transferred(self, call: str, agent: str, route: str, attended: bool, by: str = "") -> None:
        self.acd.transferred(call, agent, route, attended, by=by)


def acd_hook(services: Any) -> AcdCallHook:
    from cc.telephony.acd_wiring import from_services

    return AcdCallHook(from_services(services, load_queues=False), services.config)
