"""CloudFront standard (legacy) access log lines: format and parse.

Tab-separated, 33 fields, ``-`` for empty values, a ``#Version`` and a ``#Fields`` header per
file, as CloudFront delivers to the log bucket. Like CloudFront, the user agent, referrer and
query are URL-encoded so a value never contains a tab or a space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote

FIELDS = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
]
HEADER = "#Version: 1.0\n#Fields: " + " ".join(FIELDS) + "\n"
_SAFE = "/:;,()+=@!*'~.-_"


@dataclass(frozen=True, slots=True)
class AccessLogEntry:
    """One request as CloudFront logs it (the fields we fill)."""

    at: datetime
    client_ip: str
    method: str
    host: str
    path: str
    status: int
    referer: str
    user_agent: str
    query: str
    result_type: str  # Hit, Miss, RefreshHit, Error, Redirect
    request_id: str
    protocol: str  # http / https
    bytes_sent: int
    bytes_received: int
    time_taken_s: float
    forwarded_for: str = ""
    detailed_result_type: str = ""
    content_type: str = ""
    client_port: int = 0
    edge_location: str = "LOCAL1"


_PLAIN = re.compile(r"[A-Za-z0-9/:;,()+=@!*'~._-]+")


@lru_cache(maxsize=4096)
def _enc(value: str) -> str:
    if not value:
        return "-"
    return value if _PLAIN.fullmatch(value) else quote(value, safe=_SAFE)


def _query(query: str) -> str:
    """The query as received (it is already percent-encoded); only blanks are escaped."""
    if not query:
        return "-"
    return query if query.isprintable() and " " not in query else _enc(query)


def format_line(e: AccessLogEntry) -> str:
    """The entry as one tab-separated line (no newline)."""
    at = e.at.astimezone(UTC)
    values = [
        f"{at.year:04d}-{at.month:02d}-{at.day:02d}",
        f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}",
        e.edge_location,
        str(e.bytes_sent),
        e.client_ip or "-",
        e.method,
        _enc(e.host),
        _enc(e.path) if e.path else "/",
        str(e.status),
        _enc(e.referer),
        _enc(e.user_agent),
        _query(e.query),
        "-",
        e.result_type,
        e.request_id,
        _enc(e.host),
        e.protocol,
        str(e.bytes_received),
        f"{e.time_taken_s:.3f}",
        _enc(e.forwarded_for),
        "TLSv1.3" if e.protocol == "https" else "-",
        "TLS_AES_128_GCM_SHA256" if e.protocol == "https" else "-",
        e.result_type,
        "HTTP/1.1",
        "-",
        "-",
        str(e.client_port),
        f"{e.time_taken_s:.3f}",
        e.detailed_result_type or e.result_type,
        _enc(e.content_type),
        str(e.bytes_sent),
        "-",
        "-",
    ]
    return "\t".join(values)


def parse_lines(lines: Iterable[str]) -> Iterator[AccessLogEntry]:
    """Entries of a log file's lines; comment lines and short lines are skipped."""
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        if len(f) < 19:
            continue
        try:
            at = datetime.strptime(f"{f[0]} {f[1]}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            status = int(f[8])
            sent, received = int(f[3] if f[3] != "-" else 0), int(f[17] if f[17] != "-" else 0)
            taken = float(f[18] if f[18] != "-" else 0)
        except ValueError:
            continue
        yield AccessLogEntry(
            at=at,
            client_ip=f[4],
            method=f[5],
            host=_dec(f[6]),
            path=_dec(f[7]),
            status=status,
            referer=_dec(f[9]),
            user_agent=_dec(f[10]),
            query=_dec(f[11]),
            result_type=f[13],
            request_id=f[14],
            protocol=f[16],
            bytes_sent=sent,
            bytes_received=received,
            time_taken_s=taken,
            forwarded_for=_dec(f[19]) if len(f) > 19 else "",
        )


def _dec(value: str) -> str:
    if value == "-":
        return ""
    decoded = unquote(value)
    # CloudFront double-encodes some characters (a space is logged as %2520)
    return unquote(decoded) if "%25" in value else decoded
