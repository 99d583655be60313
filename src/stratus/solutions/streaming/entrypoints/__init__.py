"""Thin Lambda handlers of the streaming solution."""
