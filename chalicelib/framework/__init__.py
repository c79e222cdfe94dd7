"""The declarative backend framework (modelled on OpenBao's sdk/framework)."""

from chalicelib.framework.backend import Backend
from chalicelib.framework.field import Field, FieldData
from chalicelib.framework.fieldtypes import FieldType, parse_duration
from chalicelib.framework.path import Path, PathMatch, crud

__all__ = [
    "Backend", "Field", "FieldData", "FieldType", "Path", "PathMatch", "crud", "parse_duration",
]
