"""Deterministic pseudonymisation of PII for staging copies (pure).

The same secret key and the same input always give the same output, in every table and
column of the same kind: a customer's e-mail that is also a user's e-mail becomes the same
new e-mail in both places, so joins on PII columns still match (keys themselves are never
touched). Formats are kept:

* ``email``: a valid, unique address ``u<16 hex>@<domain>`` (64 bits of HMAC: unique in
  practice, and the anonymiser checks uniqueness per column anyway); case-insensitive input;
* ``name``: a first and last name from fixed lists, in the original's letter case;
* ``phone``: every digit replaced, punctuation and spacing kept, a leading ``+<country>``
  kept;
* ``text``: letters replaced by letters (case kept), digits by digits, the rest kept: same
  length and shape, no content.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Iterator
from enum import StrEnum

FIRST = (
    "Alex", "Blake", "Casey", "Dana", "Eli", "Frankie", "Gray", "Harper", "Indy", "Jules",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor",
)  # fmt: skip
LAST = (
    "Archer", "Baker", "Carter", "Dalton", "Ellis", "Fisher", "Garner", "Hayes", "Irving",
    "Jensen", "Keller", "Lowe", "Mercer", "Nolan", "Olsen", "Porter", "Reed", "Sawyer",
    "Turner", "Walsh",
)  # fmt: skip
DOMAINS = ("example.com", "example.net", "example.org")


class Kind(StrEnum):
    """What a column holds, which decides how it is pseudonymised."""

    EMAIL = "email"
    NAME = "name"
    PHONE = "phone"
    TEXT = "text"


class Pseudonymiser:
    """Keyed, deterministic replacements; ``key`` is the secret that makes them unguessable."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the anonymisation key needs at least 16 bytes")
        self._key = key

    def _stream(self, kind: str, value: str) -> Iterator[int]:
        counter = 0
        while True:
            message = f"{kind}\x00{counter}\x00{value}".encode()
            yield from hmac.new(self._key, message, hashlib.sha256).digest()
            counter += 1

    def email(self, value: str) -> str:
        """A valid e-mail address, the same for the same address in any letter case."""
        normalised = value.strip().lower()
        stream = self._stream("email", normalised)
        local = "u" + bytes(next(stream) for _ in range(8)).hex()
        return f"{local}@{DOMAINS[next(stream) % len(DOMAINS)]}"

    def name(self, value: str) -> str:
        """A plausible "First Last", upper-case when the original was upper-case."""
        stream = self._stream("name", value.strip().lower())
        first = FIRST[next(stream) % len(FIRST)]
        last = LAST[next(stream) % len(LAST)]
        result = f"{first} {last}"
        return result.upper() if value.isupper() else result

    def phone(self, value: str) -> str:
        """The same shape with other digits; a leading ``+`` and country code are kept."""
        keep = 0
        if value.startswith("+"):
            keep = 1
            while keep < len(value) and value[keep].isdigit():
                keep += 1
        stream = self._stream("phone", value)
        body = "".join(str(next(stream) % 10) if c.isdigit() else c for c in value[keep:])
        return value[:keep] + body

    def text(self, value: str) -> str:
        """Same length and shape: letters → letters (case kept), digits → digits."""
        stream = self._stream("text", value)
        out = []
        for char in value:
            if char in string.ascii_lowercase:
                out.append(string.ascii_lowercase[next(stream) % 26])
            elif char in string.ascii_uppercase:
                out.append(string.ascii_uppercase[next(stream) % 26])
            elif char.isdigit():
                out.append(str(next(stream) % 10))
            elif char.isalpha():
                out.append("x")
            else:
                out.append(char)
        return "".join(out)

    def apply(self, kind: Kind, value: str) -> str:
        """The replacement of ``value`` for a column of ``kind``."""
        return {
            Kind.EMAIL: self.email,
            Kind.NAME: self.name,
            Kind.PHONE: self.phone,
            Kind.TEXT: self.text,
        }[kind](value)
