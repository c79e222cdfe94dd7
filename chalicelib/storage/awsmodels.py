"""A leaner botocore data loader: the same models, loaded with less work on a cold start.

Building the first client, botocore's stock loader (1) lists every service it ships (~440
directories, twice: service models and endpoint rule sets) only to check that the one asked
for exists, and (2) parses its JSON files into OrderedDicts, three times slower than plain
dicts for the 1.2 MB endpoints file. Together ~70 ms of every cold start here.

:class:`LeanLoader` answers the membership check by looking at that one service's directory
(the whole list is still computed if anyone reads it) and parses into plain dicts, which keep
insertion order just the same. Models, versions, extras and search paths are botocore's own:
only these two steps differ, through botocore's public loader interfaces.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, overload

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader

if TYPE_CHECKING:
    from botocore.session import Session

# The file forms botocore's JSONFileLoader reads, in its order of preference.
_OPENERS: tuple[tuple[str, Callable[..., IO[bytes]]], ...] = (
    (".json", open),
    (".json.gz", gzip.open),
)


class PlainJSONFileLoader:
    """botocore's file-loader interface (``exists``, ``load_file``), parsing to plain dicts."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext, _ in _OPENERS)

    def load_file(self, file_path: str) -> Any:
        for ext, opener in _OPENERS:
            if os.path.isfile(file_path + ext):
                with opener(file_path + ext, "rb") as stream:
                    return json.loads(stream.read().decode("utf-8"))
        return None


class ServiceNames(Sequence[str]):
    """The sorted names of the services a loader holds models of, for one model type.

    ``name in names`` looks at that service's directory only; anything else (iterating,
    indexing, ``len``) lists every service, exactly as botocore's loader does.
    """

    def __init__(self, loader: LeanLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or os.path.basename(name) != name:
            return False  # not a plain directory name, so not a service
        try:
            self._loader.list_api_versions(name, self._type_name)
        except DataNotFoundError:
            return False
        return True

    @cached_property
    def _all(self) -> list[str]:
        return self._loader.list_every_service(self._type_name)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all[index]

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[str]:
        return iter(self._all)


class LeanLoader(Loader):
    """botocore's Loader with :class:`ServiceNames` and :class:`PlainJSONFileLoader`."""

    def __init__(self) -> None:
        super().__init__(file_loader=PlainJSONFileLoader())

    def list_available_services(self, type_name: str) -> ServiceNames:
        return ServiceNames(self, type_name)

    def list_every_service(self, type_name: str) -> list[str]:
        """botocore's own listing of every service (a directory walk)."""
        services: list[str] = Loader.list_available_services(self, type_name)
        return services


def use_lean_loader(session: Session) -> Session:
    """Give ``session`` a :class:`LeanLoader` unless it has one; before its first client."""
    if not isinstance(session.get_component("data_loader"), LeanLoader):
        session.register_component("data_loader", LeanLoader())
    return session
