"""The example application: a small SAM app that proves the local runtime (not a solution)."""
