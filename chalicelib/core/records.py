"""Record types (NamedTuples, dataclasses) rebuilt from the JSON objects they are stored as.

``cls(**raw)`` is the obvious way, and a slow one on the request path: CPython matches
each keyword against the parameter names by identity first, and the keys of a parsed JSON
object are never the interned names the constructor's code holds, so every keyword then
costs a string comparison per parameter, about n²/2 in all. For a 24-field token entry
that was ~45,000 instructions, a tenth of a warm request's. :func:`build` looks the
values up in C (one ``itemgetter``) and passes them positionally: ~15,000.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")


class _Spec(NamedTuple):
    defaults: dict[str, Any]  # plain defaults
    factories: tuple[tuple[str, Callable[[], Any]], ...]  # dataclass default_factory fields
    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # every field, in order


@cache
def _spec(cls: type) -> _Spec:
    if dataclasses.is_dataclass(cls):
        fields = [f for f in dataclasses.fields(cls) if f.init]
        names = [f.name for f in fields]
        defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
        factories = tuple(
            (f.name, f.default_factory) for f in fields
            if f.default_factory is not dataclasses.MISSING
        )  # fmt: skip
    else:
        names, defaults, factories = list(cls._fields), dict(cls._field_defaults), ()  # type: ignore[attr-defined]
    getter = itemgetter(*names)
    values = getter if len(names) > 1 else lambda mapping: (getter(mapping),)
    return _Spec(defaults, factories, values)


def build(cls: type[T], raw: Mapping[str, Any], **fixed: Any) -> T:
    """``cls(**raw, **fixed)`` without the keyword matching; keys ``cls`` does not declare
    are ignored (older or newer stored forms), missing ones take their defaults."""
    spec = _spec(cls)
    merged = {**spec.defaults, **raw, **fixed}
    for name, make in spec.factories:
        if name not in merged:
            merged[name] = make()
    try:
        values = spec.values(merged)
    except KeyError as missing:
        raise TypeError(f"{cls.__name__} needs {missing}") from None
    return cls(*values)
