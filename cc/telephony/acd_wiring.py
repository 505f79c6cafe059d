"""Wiring the ACD: its service over a store on a given connection, and the queue file (the shipped
default is imported the first time queues are needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cc.clock import Clock, SystemClock
from cc.config import Config
from cc.services.acd import AcdService, AcdSettings
from cc.store.acd import AcdStore

DEFAULT_QUEUES = Path(__file__).resolve().parents[1] / "data" / "queues" / "default.yaml"


def settings_from_config(config: Config) -> AcdSettings:
    return AcdSettings(stale_after=config.acd.heartbeat_stale_seconds, locale=config.resolved_locale(),
                       handler_lease=config.acd.handler_lease_seconds,
                       expert_group=config.asterisk.control.expert_group,
                       outbound_wrap_up=config.acd.outbound_wrap_up_seconds, callbacks=config.acd.callbacks,
                       callback_max_attempts=config.acd.callback_max_attempts,
                       callback_retry_seconds=config.acd.callback_retry_seconds)


def read_queue_file(path: str | Path) -> Any:
    """A queue file's data and the line of each key (``cc.yamlfile``: missing, not UTF-8, not YAML, not a
    mapping are one-line errors naming the file and the line)."""
    from cc.yamlfile import read_file

    return read_file(path, "queue file", "give the path of a YAML queue file", shape="a mapping with 'queues:'")


def import_queue_file(service: AcdService, path: str | Path, replace: bool = True) -> list:
    """Read and load a queue file; a broken queue names the file and its line."""
    doc = read_queue_file(path)
    return service.import_queues(doc.data, source=str(path), replace=replace, lines=doc.lines)


def default_queue_file(config: Config) -> Path:
    return Path(config.acd.queues) if config.acd.queues else DEFAULT_QUEUES


def ensure_queues(service: AcdService, config: Config) -> None:
    """Import the configured (or shipped) queue file when no queue is stored yet."""
    if not service.queues():
        path = default_queue_file(config)
        import_queue_file(service, path)


def acd_service(config: Config, db: Any, clock: Clock | None = None, *, load_queues: bool = True,
                acting_user: str | None = None) -> AcdService:
    service = AcdService(AcdStore(db), clock or SystemClock(), settings_from_config(config), acting_user)
    if load_queues and not service.queues():
        service.acting_user, user = None, service.acting_user  # the shipped default loads for anyone
        try:
            ensure_queues(service, config)
        finally:
            service.acting_user = user
    return service


def callback_runner(config: Config, db: Any, ami: Any, clock: Clock | None = None, log: Any = None):  # noqa: ANN201
    """The ACD's caller-back (cc.services.acd_callbacks) over its own connection and an AMI client with events."""
    from cc.phone import normalize_phone
    from cc.services.acd_callbacks import CallbackRunner, CallbackSettings

    control = config.asterisk.control
    settings = CallbackSettings(context=control.context, outbound_dial=control.outbound_dial,
                                caller_id=control.caller_id or config.asterisk.hotline,
                                agent_ring_seconds=control.ring_seconds)
    return CallbackRunner(acd_service(config, db, clock), ami, settings, normalize=normalize_phone,
                          **({"log": log} if log else {}))


def from_services(services: Any, *, load_queues: bool = True) -> AcdService:
    return acd_service(services.config, services.db, services.clock, load_queues=load_queues,
                       acting_user=services.acting_user)
