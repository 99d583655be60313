"""Reuse the unit layer's edge fixtures (a signing key)."""

from tests.unit.edge.conftest import signing_key  # noqa: F401 - a fixture
