"""A property-based fuzzer over the HTTP API (issue #19: bad input never ends in a 5xx,
a traceback or a dropped connection). `make fuzz` runs it; `python -m tests.fuzz -h`."""
