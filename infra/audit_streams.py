"""Add the extra audit streams to the packaged template.

Stream ``n`` (2 up to the largest value the ``AuditStreams`` parameter allows) is
``AuditStream`` again under the name ``…-audit-<n>``, made when ``AuditStreams`` >= n. It keeps
the first stream's bucket and prefix (object names carry the stream's name), so Athena and
``lambdavault audit verify`` read every stream as one log. CloudFormation has no loop short of
the LanguageExtensions transform, which moto's CloudFormation cannot run, so the copies are
made here instead of being written out in infra/template.yaml.
"""

from __future__ import annotations

import copy
import itertools
import sys
from pathlib import Path
from typing import Any

import yaml

FIRST = "AuditStream"
COUNT = "AuditStreams"


def add_audit_streams(document: dict[str, Any]) -> None:
    """Add ``AuditStream<n>`` and the condition ``AuditStreams<n>`` that makes it."""
    counts = sorted(int(value) for value in document["Parameters"][COUNT]["AllowedValues"])
    first = document["Resources"][FIRST]
    name = first["Properties"]["DeliveryStreamName"]["Fn::Sub"]
    for previous, n in itertools.pairwise(counts):
        fewer = {"Fn::Equals": [{"Ref": COUNT}, str(previous)]}
        # n streams exist unless the count is below n: not n-1, and whatever n-1 needed.
        document["Conditions"][f"{COUNT}{n}"] = (
            {"Fn::Not": [fewer]} if previous == counts[0] else
            {"Fn::And": [{"Condition": f"{COUNT}{previous}"}, {"Fn::Not": [fewer]}]})
        stream = copy.deepcopy(first)
        stream["Condition"] = f"{COUNT}{n}"
        stream["Properties"]["DeliveryStreamName"] = {"Fn::Sub": f"{name}-{n}"}
        document["Resources"][f"{FIRST}{n}"] = stream


def main(argv: list[str]) -> int:
    (template,) = argv
    path = Path(template)
    document = yaml.safe_load(path.read_text())
    add_audit_streams(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    print(f"{template}: audit streams added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
