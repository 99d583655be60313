"""Part of stratus.solutions.costs."""
