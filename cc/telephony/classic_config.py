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
    return {"host": "127.0.0.1", "port": 4573, "secret": None, "workers": 1}


DEFAULT_DB = "cc.db"


class ClassicConfig:
    """``cc.config`` 's configuration for the parts a classic call reads (``db``, ``data_dir``, ``ivr``,
    ``agi``); any other attribute comes from the full configuration, loaded on first use: the defaults,
    or ``load_config(source, db=db)`` when it came from a file."""

    def __init__(self, db: str | None = None, *, source: str | None = None, ivr: dict | None = None,
                 agi: dict | None = None) -> None:
        self.db = db or DEFAULT_DB
        self.source = source
        self.ivr = _Section(**(_ivr_defaults() if ivr is None else ivr))
        self.agi = _Section(**(_agi_defaults() if agi is None else agi))

    @property
    def data_dir(self) -> Path:
        return Path(self.db).resolve().parent

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        full = self.__dict__.get("_full")
        if full is None:
            if self.source is None:
                from cc.config import Config

                full = Config(db=self.db)
            else:
                from cc.config import load_config

                full = load_config(self.source, db=self.db)
            self.__dict__["_full"] = full
        return getattr(full, name)


def classic_config(path: str | None, db: str | None) -> Any:
    """As ``cc.config.load_config(path, db=db)``, for a classic call. Without a file (``--config`` /
    ``CC_CONFIG``): a ``ClassicConfig`` of the defaults. With one: what the call reads of it was kept the
    last time the file was loaded in full (``Remembered``); while the file and cc's reader of it
    (cc/config.py, cc/yamlfile.py) are unchanged (same size, modification time and inode), a call reads
    that instead of parsing the YAML (importing yaml and cc.config: ~50-150 ms of CPU here). A changed
    file is loaded in full, so it is checked, and its errors reported, as ever."""
    import os

    path = path or os.environ.get("CC_CONFIG") or None
    db = db or os.environ.get("CC_DB") or None
    if path is None:
        return ClassicConfig(db)
    source = str(Path(path))
    cache = Remembered(source)
    kept = cache.read()
    if kept is not None and (db or kept["db"]):
        return ClassicConfig(db or kept["db"], source=source, ivr=kept["ivr"], agi=kept["agi"])
    from cc.config import load_config

    config = load_config(path, db=db)
    # the file's own db only when nothing overrode it (a later call may come without --db / CC_DB)
    file_db = None if db else config.db
    cache.write({"db": file_db, "ivr": vars(config.ivr), "agi": vars(config.agi)})
    return config


class Remembered:
    """What a classic call reads of one config file, kept in ``$XDG_CACHE_HOME/cc`` (default ~/.cache/cc)
    with the identity (path, size, modification time, inode) of the file, cc/config.py and cc/yamlfile.py.
    Never an error: an unreadable or unwritable cache only means the file is loaded in full."""

    def __init__(self, source: str) -> None:
        import os

        self.key = os.path.abspath(source)
        self.source = source
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        self.path = os.path.join(base, "cc", "classic-agi-config.json")

    def _identity(self) -> list | None:
        import os

        package = Path(__file__).resolve().parent.parent
        try:  # the file, and the code that reads and checks it
            files = [os.stat(p) for p in (self.source, package / "config.py", package / "yamlfile.py")]
        except OSError:
            return None
        return [[f.st_size, f.st_mtime_ns, f.st_ino, f.st_dev] for f in files]

    def _all(self) -> dict:
        import json

        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def read(self) -> dict | None:
        identity = self._identity()
        entry = self._all().get(self.key) if identity is not None else None
        if not isinstance(entry, dict) or entry.get("identity") != identity:
            return None
        return entry.get("values")

    def write(self, values: dict) -> None:
        import json
        import os

        identity = self._identity()
        if identity is None:
            return
        data = self._all()
        data[self.key] = {"identity": identity, "values": values}
        if len(data) > 16:  # a few config files per machine; drop the oldest-written
            for stale in list(data)[: len(data) - 16]:
                del data[stale]
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            # only its owner may read it (agi.secret): the config file may be private too
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
