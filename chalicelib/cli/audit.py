"""``lambdavault audit verify`` and ``audit query``: read audit records from S3 or a file.

``verify`` checks their hash chains; ``query`` answers offboarding questions (what an
identity touched, which KV secrets it read that nobody has rolled since).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from chalicelib.cli.flags import flag

if TYPE_CHECKING:
    from chalicelib.audit.query import Coverage
    from chalicelib.audit.verify import Line

__all__ = ["configure_query", "configure_verify", "run_query", "run_verify"]

T = TypeVar("T")


def _configure_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    flag(source, "bucket", metavar="B", help="the audit bucket (s3 device)")
    flag(source, "file", metavar="F", help="a file device's log")
    flag(parser, "prefix", metavar="P", default="",
                        help="only objects under this key prefix (with --bucket)")


def _consume(args: argparse.Namespace, use: Callable[[Iterable[Line]], T]) -> T:
    """``use`` the records of the chosen source; reading errors become one-line CLI errors.

    The readers are lazy, so the errors surface while ``use`` consumes them.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.audit import verify
    from chalicelib.cli.main import CliError

    try:
        if args.file:
            return use(verify.read_file(args.file))
        return use(verify.read_bucket(_s3_client(), args.bucket, args.prefix))
    except OSError as error:
        raise CliError(f"{args.file}: {error.strerror or error}") from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"reading s3://{args.bucket}/{args.prefix}: {error}") from None


# --- verify ----------------------------------------------------------------------------


def configure_verify(parser: argparse.ArgumentParser) -> None:
    _configure_source(parser)
    flag(parser, "partial", action="store_true",
                        help="accept chains that start after seq 1 (a prefix cut them)")


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every chain is intact, 1 on any problem (or when nothing was found)."""
    from chalicelib.audit import verify

    report = _consume(args, lambda lines: verify.verify(lines, partial=args.partial))
    print(verify.render(report))
    return 0 if report.ok else 1


# --- query -----------------------------------------------------------------------------


def configure_query(parser: argparse.ArgumentParser) -> None:
    _configure_source(parser)
    flag(parser, "entity", metavar="E", default="",
                        help="requests of this entity (auth.entity_id)")
    flag(parser, "alias", metavar="NAME", default="",
                        help="requests of tokens logged in as NAME: the whole display name "
                             "(userpass-alice), the part after its first '-' (alice), or "
                             "metadata username/role_name")
    flag(parser, "accessor", metavar="A", action="append", default=[],
                        help="requests of this token accessor: the hmac-sha256:... value "
                             "sys/audit-hash gives for a device (repeat for several devices), "
                             "or the plain accessor for devices with hmac_accessor=false")
    flag(parser, "path-prefix", metavar="P", default="",
                        help="requests to API paths starting with P (secret/data/team/)")
    flag(parser, "since", metavar="T", type=_moment,
                        help="records at or after T: RFC 3339, a date, or a duration ago (24h)")
    flag(parser, "until", metavar="T", type=_moment,
                        help="records at or before T (same forms as -since)")
    flag(parser, "stale", action="store_true",
                        help="list the KV secrets the -entity read that no write has replaced "
                             "since its last read (the keys to roll)")
    flag(parser, "format", choices=("table", "json"), default="table")


def _moment(text: str) -> int:
    from chalicelib.audit.query import parse_moment
    from chalicelib.tokens.clock import now_ns

    try:
        return parse_moment(text, now_ns())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None  # argparse's usage error, exit 2


def run_query(args: argparse.Namespace) -> int:
    """Print the requests the filters select, or with ``-stale`` the secrets to roll; exit 0
    even when nothing matches (an empty answer is an answer)."""
    from chalicelib.audit import query
    from chalicelib.cli.main import CliError

    if args.stale and not args.entity:
        raise CliError("-stale needs -entity: whose reads to check")
    selected = query.Filter(
        entity=args.entity, alias=args.alias, accessors=tuple(args.accessor),
        path_prefix=args.path_prefix, since=args.since, until=args.until,
    )
    coverage = query.Coverage()
    found: list[query.Access] | list[query.StaleSecret]
    if args.stale:
        found = _consume(args, lambda lines: query.stale_secrets(
            query.read(lines, coverage), selected))
        output = query.render_stale(found, args.format, args.entity)
        empty = f"no secret read by {args.entity} is waiting to be rolled"
    else:
        found = _consume(args, lambda lines: query.requests(query.read(lines, coverage), selected))
        output = query.render_requests(found, args.format)
        empty = "no request matches"
    print(output if found or args.format == "json" else empty)
    _report_coverage(coverage, hint=not found and _plain_accessor(args.accessor))
    return 0


def _plain_accessor(accessors: list[str]) -> bool:
    from chalicelib.audit.query import is_hashed

    return any(not is_hashed(accessor) for accessor in accessors)


def _report_coverage(coverage: Coverage, *, hint: bool) -> None:
    """What the answer rests on, on stderr so that stdout stays the answer."""
    if coverage.first and coverage.last:
        span = f" from {coverage.first.time} to {coverage.last.time}"
    else:
        span = ""
    notes = [f"{coverage.records} audit records read{span}"]
    if coverage.unreadable:
        notes.append(f"{len(coverage.unreadable)} lines skipped, not audit records "
                     f"(first at {coverage.unreadable[0]})")
    if hint:
        notes.append("accessors are HMAC'd unless a device has hmac_accessor=false: pass the "
                     "hash `bao write sys/audit-hash/<device> input=<accessor>` returns")
    print("\n".join(notes), file=sys.stderr)


def _s3_client() -> object:
    import boto3  # an operator's tool, not the Lambda path: boto3 is fine here

    from chalicelib.settings import settings

    current = settings()
    return boto3.client("s3", region_name=current.region, endpoint_url=current.endpoint_url)
