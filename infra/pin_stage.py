"""Pin the packaged template's ``Stage`` parameter to the stage it was packaged for.

The functions' IAM policy comes from ``.chalice/policy-<stage>.json`` at package time and
names the stage's table, key alias and stream; deploying that package with another
``Stage`` would create resources the policy does not cover. After pinning, ``Stage`` needs
no parameter override and refuses any other value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def pin_stage(template: Path, stage: str) -> None:
    document = yaml.safe_load(template.read_text())
    parameter = document["Parameters"]["Stage"]
    if stage not in parameter["AllowedValues"]:
        raise ValueError(f"unknown stage {stage!r}: expected one of {parameter['AllowedValues']}")
    parameter.update(AllowedValues=[stage], Default=stage)
    template.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def main(argv: list[str]) -> int:
    template, stage = argv
    pin_stage(Path(template), stage)
    print(f"{template}: Stage pinned to {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
