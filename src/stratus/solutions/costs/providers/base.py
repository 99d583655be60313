"""The one interface every report source implements, and the registry of sources.

A *source* lists the files a provider offers for one configuration and opens them. Adding a
provider is one class with ``report_types`` and ``build`` decorated with :func:`register`.

Sources say what they can about a file without reading it (``fingerprint``: an S3 etag, an
HTTP ETag, a file's size and modification time); the uploader compares the fingerprint, then
the content hash, with what it stored last time, so unchanged files are not uploaded again.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, Protocol

from stratus.platform.ports import ObjectStore
from stratus.solutions.costs.domain.accounts import Configuration, Credential


@dataclass(frozen=True)
class SourceFile:
    """One file a source offers: its identifier in the source and a cheap fingerprint;
    ``metadata`` goes onto the upload (``version``/``parts``/``part`` when the file is one of
    several making one report version, read from the provider's manifest)."""

    name: str
    fingerprint: str
    size: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class SourceError(Exception):
    """The source cannot be read (unreachable, refused, misconfigured): the message says why."""


@dataclass(frozen=True)
class SourceContext:
    """What a source may need besides its configuration.

    ``secret`` is the credential's plaintext secret (None when it has none); ``bucket`` gives
    a bucket of this deployment by name (the local target's buckets, or S3)."""

    configuration: Configuration
    credential: Credential
    secret: str | None
    bucket: Callable[[str], ObjectStore]


class ReportSource(Protocol):
    """Files of one provider for one configuration."""

    provider: str

    def files(self) -> Iterator[SourceFile]:
        """The files offered now, in a stable order."""
        ...

    def open(self, file: SourceFile) -> BinaryIO:
        """A readable binary stream over the file's bytes."""
        ...


class SourceFactory(Protocol):
    """A source class: the report types it serves and how to build it."""

    report_types: ClassVar[tuple[str, ...]]

    @classmethod
    def build(cls, context: SourceContext) -> ReportSource: ...


_REGISTRY: dict[str, type[Any]] = {}


def register(cls: type[Any]) -> type[Any]:
    """Class decorator: serve ``cls.report_types`` with ``cls.build``."""
    for report_type in cls.report_types:
        _REGISTRY[report_type] = cls
    return cls


def registered() -> Mapping[str, type[Any]]:
    """Report type → source class."""
    return dict(_REGISTRY)


def source_for(context: SourceContext) -> ReportSource:
    """The source serving the configuration's report type."""
    report_type = context.configuration.report_type
    cls = _REGISTRY.get(report_type)
    if cls is None:
        raise SourceError(f"no source for report type {report_type}")
    source: ReportSource = cls.build(context)
    return source


def matches_suffix(name: str, suffix: str | None) -> bool:
    """True when ``name`` ends with ``suffix``; without one, cost files are CSV, possibly
    gzip-compressed (what the ETL reads: Parquet exports are not picked up by default)."""
    if suffix:
        return name.endswith(suffix)
    return name.lower().endswith((".csv", ".csv.gz", ".csv.gzip"))


def fetch_access_token(url: str, fields: Mapping[str, str], who: str) -> str:
    """An OAuth 2.0 ``access_token`` from a token endpoint (a form POST: client credentials,
    a JWT bearer assertion ...); SourceError naming ``who`` when it refuses or fails."""
    form = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=form, method="POST")  # noqa: S310 - https/loopback
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return str(json.loads(response.read())["access_token"])
    except urllib.error.HTTPError as exc:
        raise SourceError(f"{who} sign-in refused (HTTP {exc.code})") from exc
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise SourceError(f"{who} sign-in failed: {exc}") from exc
