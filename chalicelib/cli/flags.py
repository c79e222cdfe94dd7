"""Flags spelled as bao users type them: ``-name value``, ``-name=value``, ``--name value``.

Go's flag package reads one dash and two alike, and lets a boolean take ``-name=false``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}


def flag(container: argparse._ActionsContainer, name: str, **options: Any) -> None:
    """Declare ``-name`` and ``--name``; ``action="store_true"`` gives a Go-style boolean."""
    if options.get("action") == "store_true":
        options = {**options, "action": GoBool}
    container.add_argument(f"-{name}", f"--{name}", dest=name.replace("-", "_"), **options)


def _go_bool(text: str) -> bool:
    # Go's strconv.ParseBool, which the flag package uses.
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


class GoBool(argparse.Action):
    """``-name`` alone is true; ``-name=true|false`` (or a following true/false) sets it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **options: Any) -> None:
        options.setdefault("default", False)
        super().__init__(option_strings, dest, nargs="?", const=True, type=_go_bool,
                         metavar="true|false", **options)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
