"""Benchmarks: `python -m bench.run [core|all]` (what `make bench` runs) -> bench/RESULTS.md."""
