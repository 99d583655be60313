"""Solution 2b: a facade API in front of a legacy API, resilient under load.

The facade answers a new frontend in one response with data combined from the legacy API
(called concurrently, through timeouts, one retry, circuit breakers and request coalescing)
and the relational database (writer for critical reads and writes, reader for the rest).
See ``docs/solutions/facade.md``.
"""
