"""examples/cc.yaml documents every configuration key, and loads as it stands."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml

from cc.config import Config, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cc.yaml"


def _keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.metadata.get("internal"):
            continue
        dotted = f"{prefix}{field.name}"
        hint = hints[field.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is list:
            args = list(typing.get_args(hint))
        inner = args[0] if args else hint
        if dataclasses.is_dataclass(hint):
            keys += _keys(hint, dotted + ".")
        elif dataclasses.is_dataclass(inner):
            keys += _keys(inner, dotted + "[].")
        else:
            keys.append(dotted)
    return keys


def _present(data: object, dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        items = data.get(head[:-2]) if isinstance(data, dict) else None
        return bool(items) and all(_present(item, rest) for item in items)
    if not isinstance(data, dict) or head not in data:
        return False
    return _present(data[head], rest) if rest else True


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert isinstance(config, Config)


def test_every_key_is_documented_in_the_example() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    missing = [key for key in _keys(Config) if not _present(data, key)]
    assert missing == [], f"add these keys to examples/cc.yaml: {missing}"
