"""stratus: five AWS serverless solutions, deployable with SAM and runnable on one machine."""

__version__ = "0.1.0"
