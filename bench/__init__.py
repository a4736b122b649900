"""Performance benchmarks (issue 7): `make bench` or `python -m bench.run`; never run by pytest."""
