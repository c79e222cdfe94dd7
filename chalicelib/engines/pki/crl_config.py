"""`config/crl` as stored (one item, ``config/crl``) with OpenBao's defaults
(storage.go's defaultCrlConfig): durations are kept as Go duration strings, as shown."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.records import build
from chalicelib.framework.fieldtypes import parse_duration

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

CRL_CONFIG = "config/crl"


@dataclass(slots=True)
class CrlConfig:
    expiry: str = "72h"
    disable: bool = False
    ocsp_disable: bool = False
    ocsp_expiry: str = "12h"
    auto_rebuild: bool = False
    auto_rebuild_grace_period: str = "12h"
    enable_delta: bool = False
    delta_rebuild_interval: str = "15m"
    allow_expired_cert_revocation: bool = False

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> CrlConfig:
        return build(cls, raw)

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    def seconds(self, name: str) -> int:
        return parse_duration(getattr(self, name))


def read_crl_config(view: StorageView) -> CrlConfig:
    raw = view.get_json(CRL_CONFIG)
    return CrlConfig() if raw is None else CrlConfig.from_storage(raw)
