"""The ssh engine's issuer endpoints over HTTP, as OpenBao 2.7.2 answers them (each case
compared with `bao server -dev`; tests/compat repeats the comparison live): issuers,
issuers/import[/<name>], issuer/<ref> (read, rename, delete), issuer/<ref>/public_key
without a token, config/issuers. Then the races config/issuers' version settles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.engines.ssh import ca
from chalicelib.engines.ssh.path_issuers import dereferencing_warnings
from chalicelib.storage.barrier import Barrier, Keyring
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.physical import ConditionFailed, WriteOp
from chalicelib.storage.view import StorageView
from tests.api.test_ssh_ca import (  # noqa: F401 (fixture)
    NO_CA,
    USER_KEY,
    configure_ca,
    errors,
    key_pair,
    ssh_mount,
)
from tests.api.test_ssh_roles import USER_CA, write
from tests.support import VaultHTTP

REPLACED = ("Endpoint replaced the value of these parameters with the values captured from "
            "the endpoint's path: [{}]")
ALREADY_DEFAULT = "The default issuer is already set to the specified issuer."


def imported(vault: VaultHTTP, name: str = "", **body: Any) -> dict[str, Any]:
    """issuers/import[/name] written (a generated ssh-ed25519 key unless ``body`` says
    otherwise); its data."""
    path = "ssh/issuers/import" + (f"/{name}" if name else "")
    reply = vault.post(path, body or {"key_type": "ed25519"})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def default_id(vault: VaultHTTP) -> str:
    reply = vault.get("ssh/config/issuers")
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["default"]


def refused(reply: Any, status: int, message: list[str]) -> None:
    assert (reply.status_code, reply.json()) == (status, {"errors": message})


def test_list_shows_every_issuer_with_its_name_key_and_default_flag(ssh: VaultHTTP):
    refused(ssh.list("ssh/issuers"), 404, [])
    first = configure_ca(ssh)
    second = imported(ssh, "second", key_type="ec")
    reply = ssh.list("ssh/issuers")
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert data["keys"] == sorted([first["issuer_id"], second["issuer_id"]])
    assert data["key_info"] == {
        first["issuer_id"]: {"is_default": True, "issuer_name": "",
                             "public_key": first["public_key"]},
        second["issuer_id"]: {"is_default": False, "issuer_name": "second",
                              "public_key": second["public_key"]},
    }
    assert ssh.get("ssh/issuers?list=true").json()["data"] == data
    paged = ssh.list("ssh/issuers", params={"after": data["keys"][0], "limit": 1})
    assert paged.json()["data"]["keys"] == data["keys"][1:]
    refused(ssh.get("ssh/issuers"), 405, errors("unsupported operation"))


def test_the_first_issuer_is_the_default_later_ones_only_when_asked(ssh: VaultHTTP):
    first = imported(ssh)
    assert default_id(ssh) == first["issuer_id"]
    second = imported(ssh, "second")
    assert second["issuer_name"] == "second" and default_id(ssh) == first["issuer_id"]
    third = imported(ssh, key_type="ec", set_default=True)
    assert default_id(ssh) == third["issuer_id"]
    assert ssh.get("ssh/config/ca").json()["data"] == third
    # config/ca always makes a new default, and never names it.
    ca_written = configure_ca(ssh, key_type="ed25519", issuer_name="named")
    assert ca_written["issuer_name"] == "" and default_id(ssh) == ca_written["issuer_id"]


def test_import_takes_its_name_from_the_path_only(ssh: VaultHTTP):
    reply = ssh.post("ssh/issuers/import", {"key_type": "ed25519", "issuer_name": "body"})
    assert reply.json()["data"]["issuer_name"] == ""
    assert reply.json()["warnings"] == [REPLACED.format("issuer_name")]
    reply = ssh.post("ssh/issuers/import/path", {"key_type": "ed25519", "issuer_name": "x"})
    assert reply.json()["data"]["issuer_name"] == "path"
    assert reply.json()["warnings"] == [REPLACED.format("issuer_name")]
    for blank in ("", "  ", None):
        reply = ssh.post("ssh/issuers/import", {"key_type": "ed25519", "issuer_name": blank})
        assert reply.json()["data"]["issuer_name"] == ""


def test_an_imported_key_pair_already_held_returns_that_issuer(ssh: VaultHTTP):
    public, private = key_pair("rsa")
    generated = imported(ssh)
    mine = imported(ssh, "mine", public_key=public, private_key=private)
    assert mine["public_key"] == public
    for path in ("ssh/issuers/import/other", "ssh/issuers/import", "ssh/config/ca"):
        reply = ssh.post(path, {"public_key": public, "private_key": private,
                                "set_default": True})
        assert reply.json()["data"] == mine, path
        assert reply.json()["warnings"][0] == ca.EXISTING_ISSUER_WARNING
    # Nothing changed: not renamed, still not the default.
    assert default_id(ssh) == generated["issuer_id"]
    refused(ssh.post("ssh/issuers/import/mine", {"public_key": public, "private_key": private}),
            400, [ca.NAME_IN_USE])


@pytest.mark.parametrize(("body", "message"), [
    ({"public_key": "x", "private_key": "y"},
     ["could not parse public_key provided value: illegal base64 data at input byte 0"]),
    ({"generate_signing_key": False}, ["missing public_key"]),
    ({"key_type": "foo"}, errors("unknown ssh key pair algorithm: foo")),
    ({"key_bits": 1024}, errors("refusing to generate weak ssh-rsa key: 1024 bits < 2048 bits")),
])
def test_import_refuses_what_config_ca_refuses_first(ssh: VaultHTTP, body: dict[str, Any],
                                                     message: list[str]):
    # The key material is checked before the (here reserved) name.
    refused(ssh.post("ssh/issuers/import/default", body), 400, message)
    refused(ssh.list("ssh/issuers"), 404, [])


@pytest.mark.parametrize(("name", "message"), [
    ("", "expected non-empty issuer name"),
    ("  ", "expected non-empty issuer name"),
    (None, "expected non-empty issuer name"),
    ("default", "reserved keyword 'default' can not be used as issuer name"),
    ("DeFault", "reserved keyword 'default' can not be used as issuer name"),
    ("a b", "issuer name contained invalid characters"),
    ("-a", "issuer name contained invalid characters"),
    ("a.", "issuer name contained invalid characters"),
    ("x@y", "issuer name contained invalid characters"),
    ("taken", ca.NAME_IN_USE),
])
def test_names_are_checked_as_openbao_does(ssh: VaultHTTP, name: str | None, message: str):
    imported(ssh, "taken")
    issuer = imported(ssh, "mine")
    refused(ssh.post("ssh/issuer/mine", {"issuer_name": name}), 400, [message])
    if name is not None and name.strip():
        refused(ssh.post(f"ssh/issuers/import/{name}", {"key_type": "ed25519"}),
                *((400, [message]) if ca.ISSUER_NAME.fullmatch(name)
                  else (404, errors("unsupported path"))))
    # An id is taken as a name too, even the issuer's own.
    refused(ssh.post("ssh/issuer/mine", {"issuer_name": issuer["issuer_id"]}), 400,
            [ca.NAME_IN_USE])


def test_issuers_are_found_by_default_id_or_name(ssh: VaultHTTP):
    refused(ssh.get("ssh/issuer/default"), 400, [NO_CA])
    refused(ssh.get("ssh/issuer/nope"), 400, ["unable to find issuer for reference: nope"])
    refused(ssh.get("ssh/issuer/a@b"), 404, errors("unsupported path"))
    first = imported(ssh)
    named = imported(ssh, "a.b-c_d", key_type="ec")
    for reference, issuer in (("default", first), ("DEFAULT", first),
                              (first["issuer_id"], first), ("a.b-c_d", named),
                              (named["issuer_id"], named)):
        reply = ssh.get(f"ssh/issuer/{reference}")
        assert (reply.json()["data"], reply.json()["warnings"]) == (issuer, None), reference
    reply = ssh.get("ssh/issuer/a.b-c_d", params={"issuer_ref": "default"})
    assert reply.json()["data"] == named
    assert reply.json()["warnings"] == [REPLACED.format("issuer_ref")]


def test_issuer_public_key_is_a_bare_text_body_for_anyone(ssh: VaultHTTP):
    refused(ssh.get("ssh/issuer/default/public_key", token=""), 400, [NO_CA])
    first = imported(ssh)
    named = imported(ssh, "named", key_type="ec")
    for reference, issuer in (("default", first), ("named", named),
                              (named["issuer_id"], named)):
        reply = ssh.get(f"ssh/issuer/{reference}/public_key", token="")
        assert reply.status_code == 200
        assert reply.headers["Content-Type"] == "text/plain"
        assert reply.text == issuer["public_key"]
    refused(ssh.get("ssh/issuer/nope/public_key", token=""), 400,
            ["unable to find issuer for reference: nope"])
    # Only the public key is open: the issuer and the list need a token.
    for path in ("ssh/issuer/named", "ssh/issuers"):
        assert ssh.get(path, token="").status_code == 403, path


def test_a_rename_warns_about_roles_that_named_the_issuer_the_old_way(ssh: VaultHTTP):
    issuer = imported(ssh)
    write(ssh, "otp", {"key_type": "otp", "default_user": "u", "cidr_list": "10.0.0.0/8"})
    # An unnamed issuer's old name is '', which OTP roles "reference" (OpenBao counts them).
    reply = ssh.post(f"ssh/issuer/{issuer['issuer_id']}", {"issuer_name": "old"})
    assert reply.json()["data"] == {**issuer, "issuer_name": "old"}
    assert reply.json()["warnings"] == ["1 roles reference ''"]
    for name in ("a", "b"):
        write(ssh, name, {**USER_CA, "issuer_ref": "old"})
    write(ssh, "c", {**USER_CA, "issuer_ref": issuer["issuer_id"]})
    reply = ssh.post("ssh/issuer/old", {"issuer_name": " new ", "foo": 1})
    assert reply.json()["data"]["issuer_name"] == "new"
    assert reply.json()["warnings"] == ["2 roles reference 'old'",
                                        "Endpoint ignored these unrecognized parameters: [foo]"]
    # The name it already has: nothing written, nothing to warn about.
    reply = ssh.post("ssh/issuer/new", {"issuer_name": "new"})
    assert (reply.status_code, reply.json()["warnings"]) == (200, None)
    # No issuer_name clears the name.
    reply = ssh.post("ssh/issuer/new", {})
    assert reply.json()["data"]["issuer_name"] == ""
    refused(ssh.post("ssh/issuer/new", {"issuer_name": "x"}), 400,
            ["unable to find issuer for reference: new"])


def test_delete_of_the_default_leaves_the_mount_without_one(ssh: VaultHTTP):
    first = imported(ssh, "first")
    second = imported(ssh, "second")
    for name, ref in (("by-name", "first"), ("by-id", first["issuer_id"]), ("implicit", "")):
        write(ssh, name, {**USER_CA, **({"issuer_ref": ref} if ref else {})})
    reply = ssh.delete("ssh/issuer/first")
    assert reply.status_code == 200 and reply.json()["data"] is None
    assert reply.json()["warnings"] == [
        "1 roles reference 'first'",
        f"1 roles reference '{first['issuer_id']}'",
        f"Deleted issuer {first['issuer_id']} (via issuer_ref first); this was configured as "
        "the default issuer. Operations without an explicit issuer will not work until a new "
        "default is configured.",
        "1 roles reference 'default'",
    ]
    refused(ssh.get("ssh/config/issuers"), 400, [NO_CA])
    refused(ssh.get("ssh/public_key", token=""), 400, [NO_CA])
    assert list(ssh.list("ssh/issuers").json()["data"]["key_info"]) == [second["issuer_id"]]
    # Unknown references, the missing default, and a name already gone: 204.
    for reference in ("first", "default", "nope"):
        assert ssh.delete(f"ssh/issuer/{reference}").status_code == 204, reference
    assert ssh.delete(f"ssh/issuer/{second['issuer_id']}").status_code == 204
    refused(ssh.list("ssh/issuers"), 404, [])


def test_config_issuers_chooses_the_default(ssh: VaultHTTP):
    invalid = ["invalid issuer specification; must be non-empty and can't be 'default'."]
    for body in ({}, {"default": ""}, {"default": " Default "}, {"default": None}):
        refused(ssh.post("ssh/config/issuers", body), 400, invalid)
    refused(ssh.post("ssh/config/issuers", {"default": "nope"}), 400,
            errors("error resolving issuer reference: unable to find issuer for reference: nope"))
    first = imported(ssh)
    second = imported(ssh, "second")
    reply = ssh.post("ssh/config/issuers", {"default": " second "})
    assert reply.json()["data"] == {"default": second["issuer_id"]}
    assert reply.json()["warnings"] == [
        f"Previous default ({first['issuer_id']}) has been updated with the issuer 'second' "
        f"(resolved to {second['issuer_id']})"]
    for reference in ("second", second["issuer_id"]):
        reply = ssh.post("ssh/config/issuers", {"default": reference})
        assert reply.json()["data"] is None and reply.json()["warnings"] == [ALREADY_DEFAULT]
    reply = ssh.post("ssh/config/issuers", {"default": first["issuer_id"]})
    assert reply.json()["warnings"] == [
        f"Previous default ({second['issuer_id']}) has been updated with the issuer "
        f"'{first['issuer_id']}'"]
    assert ssh.get("ssh/public_key", token="").text == first["public_key"]
    # From no default at all: no "previous default" warning.
    ssh.delete("ssh/issuer/default")
    reply = ssh.post("ssh/config/issuers", {"default": "second"})
    assert reply.json()["data"] == {"default": second["issuer_id"]}
    assert reply.json()["warnings"] is None


def test_roles_sign_with_the_issuer_their_issuer_ref_names(ssh: VaultHTTP):
    default = imported(ssh)
    named = imported(ssh, "team")
    body = {"public_key": USER_KEY, "valid_principals": "alice"}
    for role, ref, issuer in (("by-default", "default", default), ("by-name", "team", named),
                              ("by-id", named["issuer_id"], named)):
        write(ssh, role, {**USER_CA, "allowed_users": "*", "issuer_ref": ref})
        reply = ssh.post(f"ssh/sign/{role}", body)
        assert reply.json()["data"]["issuer_id"] == issuer["issuer_id"], role
    ssh.post("ssh/issuer/team", {"issuer_name": "renamed"})
    refused(ssh.post("ssh/sign/by-name", body), 400,
            ["unable to find issuer for reference: team"])
    assert ssh.post("ssh/sign/by-id", body).status_code == 200


# Roles referencing an issuer: OpenBao looks at 100 roles and stops at 10 matches ---------


PREFIX = "logical/ssh-test/"


@pytest.fixture
def barrier(physical: DynamoDBPhysical) -> Barrier:
    return Barrier(physical, Keyring.generate())


@pytest.fixture
def view(barrier: Barrier) -> StorageView:
    """A mount's storage view over a fresh moto table."""
    return StorageView(barrier, PREFIX)


def roles(view: StorageView, count: int, referencing: int) -> None:
    for index in range(count):
        view.put_json(f"roles/r{index:03}",
                      {"key_type": "ca", "issuer_ref": "x" if index < referencing else "y"})


@pytest.mark.parametrize(("count", "referencing", "warnings"), [
    (3, 0, []),
    (3, 2, ["2 roles reference 'x'"]),
    (99, 9, ["9 roles reference 'x'"]),
    (20, 10, ["The name 'x' was in use by at least 10 roles"]),
    (100, 0, ["Unable to check if any roles referenced this issuer by 'x'"]),
    (101, 3, ["The name 'x' was in use by at least 3 roles"]),
])
def test_the_role_scan_stops_where_openbao_stops(view: StorageView, count: int,
                                                 referencing: int, warnings: list[str]):
    roles(view, count, referencing)
    assert dereferencing_warnings(view, "x") == warnings


# Races: config/issuers' version lets one of two racing changes win ------------------------


class RacingView(StorageView):
    """A view whose first transaction lets ``rival`` commit first (another container
    changing the issuers between this request's reads and its write)."""

    def __init__(self, barrier: Barrier, rival: Callable[[StorageView], Any]) -> None:
        super().__init__(barrier, PREFIX)
        self.rival: Callable[[StorageView], Any] | None = rival
        self.plain = StorageView(barrier, PREFIX)

    def transact(self, ops: Sequence[WriteOp]) -> None:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival(self.plain)
        super().transact(ops)


def generated() -> tuple[str, str]:
    return ca.generate_key_pair("ed25519", 0)


def test_two_first_issuers_racing_leave_one_default(barrier: Barrier, view: StorageView):
    racing = RacingView(barrier, lambda v: ca.import_issuer(v, *generated(), True,
                                                            set_default=False))
    ours, _ = ca.import_issuer(racing, *generated(), True, set_default=False)
    ids = view.list(ca.ISSUER_PREFIX)
    assert len(ids) == 2 and ours.id in ids
    # The rival committed first and became the default; the retried import saw it.
    default = ca.Issuers(view).default_id
    assert default in ids and default != ours.id


def test_two_renames_to_one_name_racing_leave_one_winner(barrier: Barrier,
                                                         view: StorageView):
    first, _ = ca.import_issuer(view, *generated(), True)
    second, _ = ca.import_issuer(view, *generated(), True)
    racing = RacingView(barrier, lambda v: ca.rename_issuer(v, second.id, "shared"))
    with pytest.raises(ca.CAError) as caught:
        ca.rename_issuer(racing, first.id, "shared")
    assert caught.value.message == ca.NAME_IN_USE
    names = {ca.fetch_issuer(view, i).name for i in (first.id, second.id)}
    assert names == {"", "shared"}


def test_a_new_default_racing_its_deletion_never_points_at_nothing(barrier: Barrier,
                                                                   view: StorageView):
    ca.import_issuer(view, *generated(), True)
    doomed, _ = ca.import_issuer(view, *generated(), True, "doomed", set_default=False)
    racing = RacingView(barrier, lambda v: ca.delete_issuer(v, "doomed"))
    with pytest.raises(ca.CAError) as caught:
        ca.set_default_issuer(racing, "doomed")
    assert caught.value.message == (
        "error resolving issuer reference: unable to find issuer for reference: doomed")
    assert ca.Issuers(view).default_id != doomed.id


def test_a_rename_racing_a_delete_does_not_bring_the_issuer_back(barrier: Barrier,
                                                                  view: StorageView):
    issuer, _ = ca.import_issuer(view, *generated(), True)
    racing = RacingView(barrier, lambda v: ca.delete_issuer(v, issuer.id))
    with pytest.raises(ca.CAError) as caught:
        ca.rename_issuer(racing, issuer.id, "renamed")
    assert caught.value.message == f"unable to find issuer for reference: {issuer.id}"
    assert view.list(ca.ISSUER_PREFIX) == []


def test_an_import_racing_a_purge_is_not_lost_halfway(barrier: Barrier, view: StorageView):
    for _ in range(3):
        ca.import_issuer(view, *generated(), True)
    racing = RacingView(barrier, lambda v: ca.import_issuer(v, *generated(), True))
    assert ca.purge_issuers(racing) == 4
    assert view.list(ca.ISSUER_PREFIX) == []
    assert jsonio.loads(view.get(ca.ISSUERS_CONFIG_KEY).value) == {"default": ""}


def test_a_change_that_keeps_losing_gives_up_with_412(view: StorageView,
                                                       monkeypatch: pytest.MonkeyPatch):
    def always_lost(self: StorageView, ops: Sequence[WriteOp]) -> None:
        raise ConditionFailed("lost")

    monkeypatch.setattr(StorageView, "transact", always_lost)
    with pytest.raises(PreconditionFailed):
        ca.import_issuer(view, *generated(), True)
