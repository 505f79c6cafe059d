"""Wiring the telephony stores into the IVR and call services for the CLI (one place, like the container)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cc.services.calls import CallService
from cc.services.ivr import IvrService
from cc.store.calls import CallStore


def call_service(services: Any) -> CallService:
    return CallService(CallStore(services.db))


def ivr_service(services: Any) -> IvrService:
    from cc.telephony.handlers import settings_from_config

    config = services.config
    settings = settings_from_config(config)
    default = Path(config.ivr.tree) if config.ivr.tree else None
    return IvrService(CallStore(services.db), services.clock, settings.prompts_dir, default, actor=services.acting_user or "")
