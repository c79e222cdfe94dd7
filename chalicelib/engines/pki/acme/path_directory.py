"""``directory`` and ``new-nonce`` (RFC 8555 sections 7.1.1 and 7.2), unsigned."""

from __future__ import annotations

from chalicelib.engines.pki.acme import state
from chalicelib.engines.pki.acme.context import AcmeContext, Reply, acme_paths
from chalicelib.framework import Path


def acme_directory(ctx: AcmeContext) -> Reply:
    return Reply({
        "newNonce": ctx.url("new-nonce"),
        "newAccount": ctx.url("new-account"),
        "newOrder": ctx.url("new-order"),
        "revokeCert": ctx.url("revoke-cert"),
        "keyChange": ctx.url("key-change"),
        "meta": {"externalAccountRequired": ctx.config.eab_policy != "not-required"},
    })


def acme_new_nonce(ctx: AcmeContext) -> Reply:
    """HEAD and GET both answer 200 with an empty body here (see the README's
    differences: the pipeline does not tell HEAD from GET)."""
    return Reply(None, 200, {"Replay-Nonce": state.new_nonce(ctx.view)})


def paths() -> list[Path]:
    return [
        *acme_paths("directory", acme_directory, signed=False, read=True),
        *acme_paths("new-nonce", acme_new_nonce, signed=False, read=True,
                    side_effects=True),  # stores the nonce it hands out
    ]
