"""A small, deliberately legacy HTTP service for demos, tests and benchmarks."""
