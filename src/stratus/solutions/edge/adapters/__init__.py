"""Adapters of the edge solution that only it needs (WAFv2)."""
