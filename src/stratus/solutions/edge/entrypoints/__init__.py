"""Thin Lambda handlers of the edge solution."""
