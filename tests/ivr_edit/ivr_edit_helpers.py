"""A database with the shipped IVR tree loaded, for the editor's tests (copied per test)."""

from __future__ import annotations

from pathlib import Path

from cc.clock import FrozenClock
from cc.config import Config

START = "2026-11-26T02:00:00+00:00"


def config_for(db_path: Path | str, locale: str = "en") -> Config:
    config = Config(db=str(db_path), locale=locale)
    folder = Path(db_path).parent
    config.ivr.prompts_dir = str(folder / "prompts")
    config.ivr.voicemail_dir = str(folder / "voicemail")
    return config


def build_template(db_path: Path) -> None:
    from cc.services.container import build_services
    from cc.telephony.wiring import ivr_service

    services = build_services(config_for(db_path), clock=FrozenClock(START))
    ivr_service(services).ensure_tree()
    services.db.conn.close()


def ivr_service_for(db_path: Path | str):  # noqa: ANN201
    from cc.services.container import build_services
    from cc.telephony.wiring import ivr_service

    services = build_services(config_for(db_path), clock=FrozenClock(START))
    return ivr_service(services), services.db
