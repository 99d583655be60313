"""Thin Lambda handlers of the facade."""
