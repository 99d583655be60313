"""Report sources: one interface (:class:`ReportSource`), one class per provider.

Importing this package registers every source: files/HTTP/bucket (local, Azure and GCP
exports), the GCP billing export in BigQuery, and AWS (S3, through the aws adapters, loaded
only when used).
"""

from stratus.solutions.costs.providers import aws, bigquery, files
from stratus.solutions.costs.providers.base import (
    ReportSource,
    SourceContext,
    SourceError,
    SourceFile,
    register,
    registered,
    source_for,
)

__all__ = [
    "ReportSource",
    "SourceContext",
    "SourceError",
    "SourceFile",
    "aws",
    "bigquery",
    "files",
    "register",
    "registered",
    "source_for",
]
