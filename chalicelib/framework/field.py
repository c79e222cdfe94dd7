"""Field declarations and the typed view of a request's data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.framework.fieldtypes import FieldError, FieldType


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class Field(NamedTuple):
    type: FieldType = FieldType.STRING
    default: Any = None
    description: str = ""
    required: bool = False
    allowed_values: tuple[Any, ...] = ()


class FieldData(Mapping[str, Any]):
    """Request data parsed against a path's fields: values are typed, defaults applied."""

    def __init__(self, fields: Mapping[str, Field], raw: Mapping[str, Any]) -> None:
        self._fields = fields
        self.raw = dict(raw)
        self._values: dict[str, Any] = {}
        for name, value in raw.items():
            spec = fields.get(name)
            if spec is None or value is None:
                continue  # JSON null means "not given", as Go's decoding of a nil leaves zero
            self._values[name] = _convert(name, spec, value)
        for name, spec in fields.items():
            if spec.required and name not in self._values:
                raise BadRequest(f"missing required field {name!r}")

    @property
    def unknown(self) -> list[str]:
        """Names the client sent that the path does not declare (Vault warns about them)."""
        return sorted(self.raw.keys() - self._fields.keys())

    def is_set(self, name: str) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        spec = self._fields[name]
        default = spec.default
        return default() if callable(default) else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def _convert(name: str, spec: Field, value: Any) -> Any:
    try:
        converted = spec.type.convert(value)
    except FieldError as exc:
        # The value itself is not echoed: a field may carry a secret.
        raise BadRequest(f"error converting input for field {name!r}: {exc}") from None
    if spec.allowed_values and converted not in spec.allowed_values:
        allowed = ", ".join(str(v) for v in spec.allowed_values)
        raise BadRequest(f"invalid value {converted!r} for field {name!r}; allowed: {allowed}")
    return converted


def replaced_by_path(body: Mapping[str, Any], captured: Iterable[str]) -> list[str]:
    """OpenBao's framework warning when the body also sent fields the path captures, whose
    values (from the URL, possibly empty) won; [] when it sent none of them."""
    names = [name for name in captured if body.get(name) is not None]
    if not names:
        return []
    return ["Endpoint replaced the value of these parameters with the values captured "
            f"from the endpoint's path: [{' '.join(names)}]"]
