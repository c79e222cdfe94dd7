"""``lambdavault audit verify``: check the hash chains of audit records in S3 or a file."""

from __future__ import annotations

import argparse

__all__ = ["configure_verify", "run_verify"]


def configure_verify(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-bucket", "--bucket", metavar="B", help="the audit bucket (s3 device)")
    source.add_argument("-file", "--file", metavar="F", help="a file device's log")
    parser.add_argument("-prefix", "--prefix", metavar="P", default="",
                        help="only objects under this key prefix (with --bucket)")
    parser.add_argument("-partial", "--partial", action="store_true",
                        help="accept chains that start after seq 1 (a prefix cut them)")


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every chain is intact, 1 on any problem (or when nothing was found)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.audit import verify
    from chalicelib.cli.main import CliError

    try:
        if args.file:
            lines = verify.read_file(args.file)
        else:
            lines = verify.read_bucket(_s3_client(), args.bucket, args.prefix)
        report = verify.verify(lines, partial=args.partial)
    except OSError as error:
        raise CliError(f"{args.file}: {error.strerror or error}") from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"reading s3://{args.bucket}/{args.prefix}: {error}") from None
    print(verify.render(report))
    return 0 if report.ok else 1


def _s3_client() -> object:
    import boto3  # an operator's tool, not the Lambda path: boto3 is fine here

    from chalicelib.settings import settings

    current = settings()
    return boto3.client("s3", region_name=current.region, endpoint_url=current.endpoint_url)
