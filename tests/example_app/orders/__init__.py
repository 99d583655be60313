"""Lambda code of the example application (CodeUri: orders/, so ``handlers`` is top-level)."""
