"""cc.domain.records behaves as the frozen dataclasses it replaced in the IVR's types."""

from __future__ import annotations

import pytest

from cc.domain import ivr
from cc.domain.records import FrozenRecordError, factory, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: dict = factory(dict)


@record(frozen=False)
class Box:
    size: int
    label: str = ""


def test_init_defaults_and_fresh_factories():
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 0, {}) and Point(1).tags is not p.tags
    assert Point(1, 2) == Point(x=1, y=2) and Point(1, 2) != Point(1, 3) and Point(1) != (1, 0, {})
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags={})"
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=3)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="positional arguments"):
        Point(1, 2, {}, 4)


def test_frozen_hashable_and_replace():
    state = ivr.CallState(node="menu", path=("menu",))
    with pytest.raises(FrozenRecordError):
        state.node = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del state.node  # type: ignore[misc]
    moved = replace(state, node="next", retries=1)
    assert (moved.node, moved.retries, moved.path, state.node) == ("next", 1, ("menu",), "menu")
    assert hash(ivr.Branch("1", "a")) == hash(ivr.Branch("1", "a")) and {ivr.Branch("1", "a"), ivr.Branch("1", "a")} == {ivr.Branch("1", "a")}
    match ivr.Branch("1", "a", "vip"):
        case ivr.Branch(key, target, when):
            assert (key, target, when) == ("1", "a", "vip")


def test_a_mutable_record_is_assignable_and_unhashable():
    box = Box(2)
    box.label = "big"
    assert box == Box(2, "big")
    with pytest.raises(TypeError):
        hash(box)
