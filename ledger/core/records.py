"""A fast ``dataclasses.replace`` for the folds: they derive millions of immutable records.

``dataclasses.replace`` rebuilds keyword arguments and runs ``__init__`` for every copy;
folding a year of events spent most of its time there. :func:`updated` copies the fields
straight into a new instance through a copier compiled once per class. It skips
``__post_init__``, so it is only for records whose invariants the caller already keeps
(state folded from admitted events).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")

Copier = Callable[[Any, dict[str, Any]], Any]
_COPIERS: dict[type, tuple[frozenset[str], Copier]] = {}


def _setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot's own descriptor setter (bypassing the frozen ``__setattr__`` costs less
    than ``object.__setattr__``); ``object.__setattr__`` for a class without slots."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if isinstance(slot, types.MemberDescriptorType):
            return slot.__set__
    return lambda record, value: object.__setattr__(record, name, value)


def _compile(cls: type) -> tuple[frozenset[str], Copier]:
    names = [f.name for f in fields(cls)]
    setters = {name: _setter(cls, name) for name in names}
    lines = ["def copy(record, changes):", "    new = new_(cls)"]
    lines += [f"    set_{i}(new, record.{n})" for i, n in enumerate(names)]
    lines += ["    for name, value in changes.items():", "        setters[name](new, value)"]
    lines.append("    return new")
    scope: dict[str, Any] = {"new_": object.__new__, "cls": cls, "setters": setters}
    scope.update({f"set_{i}": setters[n] for i, n in enumerate(names)})
    exec("\n".join(lines), scope)  # built from the class's own field names
    return frozenset(names), scope["copy"]


def updated(record: T, /, **changes: Any) -> T:
    cls = type(record)
    found = _COPIERS.get(cls)
    if found is None:
        found = _COPIERS[cls] = _compile(cls)
    names, copy = found
    if not changes.keys() <= names:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(changes.keys() - names)}")
    result: T = copy(record, changes)
    return result
