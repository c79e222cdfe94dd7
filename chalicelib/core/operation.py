"""The logical operations of Vault's request model."""

from enum import StrEnum


class Operation(StrEnum):
    """What a request does, independent of the HTTP verb that carried it.

    POST/PUT become CREATE or UPDATE once the router knows whether the item exists,
    which is what lets an ACL grant `create` without `update` (as Vault does).
    """

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    LIST = "list"
    # ``?help=1`` on any path (or the HELP verb): the path's help, allowed to any valid
    # token whatever its policies, as OpenBao's logical.HelpOperation.
    HELP = "help"
