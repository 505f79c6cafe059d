"""Light value records: what ``@dataclass`` gives the IVR's types, without the ``dataclasses`` module.

Creating a dataclass compiles its methods with ``exec`` when the module is imported (~1 ms each here), and
``dataclasses`` loads ``inspect`` (with ``ast``, ``dis``, ``tokenize``): together ~25 ms of CPU for each
classic-AGI process, one per call. A ``@record`` class gets the same behaviour from shared functions:
an ``__init__`` taking the annotated fields in order (positionally or by name, with the class's defaults;
``factory(f)`` for a fresh default per instance), ``__repr__`` and ``__eq__`` over the fields, and when
``frozen`` (the default) a ``__hash__`` and no attribute assignment. ``replace(obj, **changes)`` as
``dataclasses.replace``. Fields are the class's own annotations (no inheritance).
"""

from __future__ import annotations

from typing import Any


class FrozenRecordError(AttributeError):
    """An attribute of a frozen record was assigned or deleted."""


class factory:  # noqa: N801 - used like dataclasses.field(default_factory=...)
    """A default made fresh for each instance: ``entries: dict = factory(dict)``."""

    def __init__(self, make: Any) -> None:
        self.make = make


def record(cls: type | None = None, *, frozen: bool = True) -> Any:
    if cls is None:
        return lambda c: _build(c, frozen)
    return _build(cls, frozen)


def _build(cls: type, frozen: bool) -> type:
    name = cls.__qualname__
    fields = tuple(cls.__dict__.get("__annotations__", {}))
    known = frozenset(fields)
    defaults: dict[str, Any] = {}
    for f in fields:
        if f in cls.__dict__:
            defaults[f] = cls.__dict__[f]
        elif defaults:
            raise TypeError(f"non-default argument '{f}' follows default argument")
    plain = {f: d for f, d in defaults.items() if not isinstance(d, factory)}
    made = {f: d.make for f, d in defaults.items() if isinstance(d, factory)}
    for f in made:
        delattr(cls, f)  # the class attribute would be the marker, not a value
    count = len(fields)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if len(args) > count:
            raise TypeError(f"{name}.__init__() takes {count + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key not in known:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{key}'")
            if key in values:
                raise TypeError(f"{name}.__init__() got multiple values for argument '{key}'")
            values[key] = value
        if len(values) < count:
            for f in fields:
                if f not in values:
                    if f in plain:
                        values[f] = plain[f]
                    elif f in made:
                        values[f] = made[f]()
                    else:
                        raise TypeError(f"{name}.__init__() missing required argument: '{f}'")
        self.__dict__.update(values)

    def __repr__(self: Any) -> str:  # noqa: N807
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"{type(self).__qualname__}({inner})"

    def _values(self: Any) -> tuple:
        return tuple(getattr(self, f) for f in fields)

    def __eq__(self: Any, other: Any) -> Any:  # noqa: N807
        if other.__class__ is self.__class__:
            return _values(self) == _values(other)
        return NotImplemented

    cls.__init__ = __init__  # type: ignore[misc]
    cls.__repr__ = __repr__  # type: ignore[method-assign]
    cls.__eq__ = __eq__  # type: ignore[method-assign]
    cls.__match_args__ = fields  # type: ignore[attr-defined]
    cls.__record_fields__ = fields  # type: ignore[attr-defined]
    if frozen:
        def __hash__(self: Any) -> int:  # noqa: N807
            return hash(_values(self))

        def __setattr__(self: Any, key: str, value: Any) -> None:  # noqa: N807
            raise FrozenRecordError(f"cannot assign to field '{key}'")

        def __delattr__(self: Any, key: str) -> None:  # noqa: N807
            raise FrozenRecordError(f"cannot delete field '{key}'")

        cls.__hash__ = __hash__  # type: ignore[method-assign]
        cls.__setattr__ = __setattr__  # type: ignore[method-assign]
        cls.__delattr__ = __delattr__  # type: ignore[method-assign]
    else:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as a dataclass
    return cls


def replace(obj: Any, **changes: Any) -> Any:
    """A copy of the record ``obj`` with ``changes``."""
    values = {f: getattr(obj, f) for f in obj.__record_fields__}
    values.update(changes)
    return obj.__class__(**values)
