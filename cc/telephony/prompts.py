"""Making missing prompt sound files from their text: espeak-ng speaks (Mandarin voice ``cmn`` for
Chinese text), sox converts to what Asterisk plays without transcoding: 8 kHz, mono, 16-bit WAV (or GSM).

Needs the Debian packages espeak-ng and sox.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cc.errors import ConfigError, UsageError

FORMATS = ("wav", "gsm")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class BuiltPrompt:
    prompt: str
    file: Path
    action: str  # built | kept


def voice_for(text: str, configured: str = "cmn") -> str:
    """Chinese text gets the configured Mandarin voice; other text English."""
    return configured if _CJK.search(text) else "en"


def tools_present() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not installed: cannot make prompt files",
            "install them: apt-get install espeak-ng sox",
        )


def speak(text: str, target: Path, voice: str, fmt: str = "wav") -> None:
    """Speak ``text`` into ``target`` (8 kHz mono, ``fmt``)."""
    if fmt not in FORMATS:
        raise UsageError(f"prompt format {fmt!r} is not supported", f"use one of {', '.join(FORMATS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cc-tts-") as tmp:
        raw = Path(tmp) / "raw.wav"
        out = Path(tmp) / f"out.{fmt}"
        _run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), "--", text], "espeak-ng")
        convert = ["sox", str(raw), "-r", "8000", "-c", "1"]
        if fmt == "wav":
            convert += ["-b", "16", "-e", "signed-integer"]
        _run([*convert, str(out)], "sox")
        shutil.move(str(out), target)


def _run(cmd: list[str], tool: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise ConfigError(f"{tool} not installed", "install it: apt-get install espeak-ng sox") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"{tool} did not finish within 60 s") from None
    if done.returncode != 0:
        raise UsageError(f"{tool} failed: {done.stderr.strip()[:200]}")


def build_missing(
    prompts: dict[str, str], prompts_dir: Path, existing: set[str], *, voice: str = "cmn", fmt: str = "wav", force: bool = False
) -> list[BuiltPrompt]:
    """Make a sound file for each prompt without one (all with ``force``); recordings are kept."""
    tools_present()
    out: list[BuiltPrompt] = []
    for pid, text in prompts.items():
        target = prompts_dir / f"{pid}.{fmt}"
        if pid in existing and not force:
            out.append(BuiltPrompt(pid, target, "kept"))
            continue
        if force:
            for old in prompts_dir.glob(f"{pid}.*"):
                old.unlink()
        speak(text, target, voice_for(text, voice), fmt)
        out.append(BuiltPrompt(pid, target, "built"))
    return out
