"""Wiring call control for the CLI: an AMI client from ``asterisk.ami``, the store on the services'
connection, the settings from ``asterisk.control`` (one place, like the container)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cc.services.call_control import CallControlService
from cc.store.call_control import CallControlStore
from cc.telephony.acd_control import acd_hook
from cc.telephony.ami import client_from_config
from cc.telephony.control_dialplan import settings_from_config


@contextmanager
def call_control(services: Any, *, events: bool = False) -> Iterator[CallControlService]:
    """A connected service for one command; the AMI link closes after it. ``events``: log in with events
    on (needed to follow outbound calls, e.g. relay delivery)."""
    config = services.config
    ami = client_from_config(config.asterisk.ami, events=events, reconnect=False).connect()
    try:
        yield CallControlService(ami, CallControlStore(services.db), services.clock, settings_from_config(config),
                                 actor=services.acting_user or "", acd=acd_hook(services))
    finally:
        ami.close()


def offline(services: Any) -> CallControlService:
    """The service without Asterisk (history, relay lists)."""
    return CallControlService(None, CallControlStore(services.db), services.clock,  # type: ignore[arg-type]
                              settings_from_config(services.config), actor=services.acting_user or "")


def long_lived(services: Any) -> tuple[CallControlService, Any]:
    """For a process that stays up (an agent console, the dashboard): a service over a client that logs in
    with events and reconnects when Asterisk restarts. Close the client (second item) when done."""
    config = services.config
    ami = client_from_config(config.asterisk.ami, events=True, reconnect=True).connect()
    service = CallControlService(ami, CallControlStore(services.db), services.clock, settings_from_config(config),
                                 actor=services.acting_user or "", acd=acd_hook(services))
    return service, ami
