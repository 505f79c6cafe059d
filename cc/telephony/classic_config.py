"""The configuration of a classic-AGI call run without a config file, without loading ``cc.config``.

``cc.config`` creates some twenty dataclasses when it is imported (~20 ms of CPU here, for each call
Asterisk starts a process for). Without a file every value is ``cc.config``'s default, and a call reads
only ``db``, ``data_dir``, ``ivr`` and ``agi.secret``: those are plain objects here, with the same
defaults (tests/telephony/test_classic_agi_lean.py checks that they agree). Anything else (a queue node
handing the caller to the ACD reads ``acd``, ``asterisk``, ...) loads the full defaults on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class _Section:
    """A config section's values as attributes (what the IVR reads of ``IvrConfig`` / ``AgiConfig``)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"_Section({self.__dict__!r})"


def _ivr_defaults() -> dict[str, Any]:
    return {
        "tree": None, "prompts_dir": None, "voicemail_dir": None, "asterisk_prompts_dir": None,
        "asterisk_recordings_dir": None, "record_format": "wav", "dial_template": "PJSIP/{number}@trunk",
        "tts_voice": "cmn",
    }


def _agi_defaults() -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": 4573, "secret": None}


DEFAULT_DB = "cc.db"


class ClassicConfig:
    """``cc.config.Config()`` with ``db`` set, for the parts a classic call reads; any other attribute
    comes from a full ``Config`` made on first use."""

    source = None

    def __init__(self, db: str | None = None) -> None:
        self.db = db or DEFAULT_DB
        self.ivr = _Section(**_ivr_defaults())
        self.agi = _Section(**_agi_defaults())

    @property
    def data_dir(self) -> Path:
        return Path(self.db).resolve().parent

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        full = self.__dict__.get("_full")
        if full is None:
            from cc.config import Config

            full = self.__dict__["_full"] = Config(db=self.db)
        return getattr(full, name)


def classic_config(path: str | None, db: str | None) -> Any:
    """As ``cc.config.load_config(path, db=db)``: the full configuration when a file is given (``--config``
    or ``CC_CONFIG``), else a ``ClassicConfig``."""
    import os

    path = path or os.environ.get("CC_CONFIG") or None
    if path is not None:
        from cc.config import load_config

        return load_config(path, db=db)
    return ClassicConfig(db or os.environ.get("CC_DB"))
