"""sys/rotate/keyring (and its older name sys/rotate), its automatic-rotation config at
sys/rotate/keyring/config (and sys/rotate/config), and sys/key-status."""

from __future__ import annotations

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path

UNAUTHENTICATED: tuple[str, ...] = ()

_CONFIG_FIELDS = {
    "enabled": Field(FieldType.BOOL, True),
    "max_operations": Field(FieldType.INT),
    "interval": Field(FieldType.DURATION),
}


def _rotate_write(request: Request, data: FieldData) -> None:
    runtime().rotate_keyring()


def _config_read(request: Request, data: FieldData) -> Response:
    from chalicelib.seal import rotation

    return Response(data=rotation.load_config(runtime().barrier).view())


def _config_write(request: Request, data: FieldData) -> None:
    """Only the fields given change; the result is checked whole, as OpenBao does."""
    from chalicelib.seal import rotation

    barrier = runtime().barrier
    config = rotation.load_config(barrier)
    given = {name: data[name] for name in _CONFIG_FIELDS if data.is_set(name)}
    updated = config._replace(**given)
    updated.check()
    rotation.save_config(barrier, updated)


def _key_status_read(request: Request, data: FieldData) -> Response:
    from chalicelib.seal import rotation

    rt = runtime()
    record = rt.keyring_record
    assert record is not None
    term = record.keyring.active_term
    status = {
        "term": term,
        "install_time": record.installed.get(term, ""),
        "encryptions": rotation.encryptions(rt, term),
    }
    return Response(data=status, legacy_top_level=True)


def paths() -> list[Path]:
    config = {Operation.READ: _config_read, Operation.UPDATE: _config_write}
    return [
        Path(
            "rotate",
            {Operation.UPDATE: _rotate_write},
            synopsis="Add a new term to the keyring (legacy path).",
        ),
        Path(
            "rotate/keyring",
            {Operation.UPDATE: _rotate_write},
            synopsis="Add a new term to the keyring.",
        ),
        Path(
            "rotate/config",
            config,
            _CONFIG_FIELDS,
            synopsis="Read or set the keyring's automatic rotation (legacy path).",
        ),
        Path(
            "rotate/keyring/config",
            config,
            _CONFIG_FIELDS,
            synopsis="Read or set the keyring's automatic rotation.",
        ),
        Path(
            "key-status",
            {Operation.READ: _key_status_read},
            synopsis="Read the keyring's current term and when it was installed.",
        ),
    ]
