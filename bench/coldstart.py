"""One cold start, as a new Lambda container: `import app`, unseal, then serve ONE request.

Run as ``python -m bench.coldstart OUT.json [--count-calls]`` in a fresh process whose
environment points at an initialised table (bench.common.aws_environ). The timed runs import
nothing but the standard library before ``import app``; ``--count-calls`` hooks botocore first
(so it is never timed). Exit status 0 only if the request answered 200.

``python -I -S bench/coldstart.py OUT.json --path DIR`` imports the app from DIR alone (an
unpacked deployment zip: no site-packages), as bench/coldzip.py runs it.
"""

import json
import sys
import time


def main() -> int:
    out, count_calls = sys.argv[1], "--count-calls" in sys.argv[2:]
    if "--path" in sys.argv[2:]:
        sys.path.insert(0, sys.argv[sys.argv.index("--path") + 1])
    meter = None
    if count_calls:
        from bench.meter import ApiCallMeter

        meter = ApiCallMeter().install()
    imported = time.perf_counter()
    import app  # noqa: F401
    from chalicelib.core.pipeline import handle
    from chalicelib.core.runtime import runtime
    from chalicelib.transports.http import build_request

    app_imported = time.perf_counter()
    runtime().ensure_loaded()  # the unseal: seal config and keyring read, one KMS Decrypt
    unsealed, unsealed_cpu = time.perf_counter(), time.process_time()
    request = build_request(
        method="GET",
        path="sys/mounts",
        query={},
        headers={"X-Vault-Token": "root"},
        body=None,
        remote_address="127.0.0.1",
    )
    status = handle(request).status
    done, done_cpu = time.perf_counter(), time.process_time()
    result = {
        "status": status,
        "import_s": app_imported - imported,
        "unseal_s": unsealed - app_imported,
        "request_s": done - unsealed,
        "request_cpu_s": done_cpu - unsealed_cpu,
        "calls": dict(meter.calls) if meter else None,
        "aws_wall_s": meter.wall if meter else None,
    }
    with open(out, "w") as handle_:
        json.dump(result, handle_)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
