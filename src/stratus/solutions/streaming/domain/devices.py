"""Devices, pairing codes and stream keys.

A device owner asks for a pairing code; the device redeems it once, before it expires, and
gets its stream key and ingest URL. Only a SHA-256 of a stream key is stored; the key itself
is shown once (at pairing and at each rotation). A revoked key is rejected at ingest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from stratus.solutions.streaming.domain import ConflictError, DomainError

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
PAIRING_LENGTH = 8
PAIRING_TTL = timedelta(minutes=15)


class Quality(StrEnum):
    """Passthrough keeps the encoder's rendition; ladder makes 720p/480p/360p."""

    PASSTHROUGH = "passthrough"
    LADDER = "ladder"


@dataclass(frozen=True)
class PairingCode:
    """A one-time code an owner gives a device."""

    code: str
    owner_id: str
    expires_at: datetime
    used: bool = False

    def redeem(self, now: datetime) -> PairingCode:
        """The code marked used; DomainError when expired, ConflictError when used."""
        if self.used:
            raise ConflictError("pairing code: already used")
        if now >= self.expires_at:
            raise DomainError("pairing code: expired")
        return replace(self, used=True)


def new_pairing_code(random_bytes: bytes, owner_id: str, now: datetime) -> PairingCode:
    """A code from ``PAIRING_LENGTH`` random bytes (pass ``secrets.token_bytes(8)``)."""
    if len(random_bytes) < PAIRING_LENGTH:
        raise ValueError("need PAIRING_LENGTH random bytes")
    code = "".join(PAIRING_ALPHABET[b % len(PAIRING_ALPHABET)] for b in random_bytes[:8])
    return PairingCode(code=code, owner_id=owner_id, expires_at=now + PAIRING_TTL)


def normalise_code(code: str) -> str:
    """Upper-case without spaces or dashes; DomainError when malformed."""
    cleaned = code.replace("-", "").replace(" ", "").upper()
    if len(cleaned) != PAIRING_LENGTH or any(c not in PAIRING_ALPHABET for c in cleaned):
        raise DomainError("pairing code: 8 characters from the code card")
    return cleaned


def key_digest(stream_key: str) -> str:
    """What is stored and looked up for a stream key."""
    return hashlib.sha256(stream_key.encode()).hexdigest()


@dataclass(frozen=True)
class Device:
    """A paired device of an owner, streaming to one channel."""

    device_id: str
    owner_id: str
    name: str
    channel_id: str
    key_digest: str | None
    created_at: datetime
    quality: Quality = Quality.PASSTHROUGH
    key_version: int = 1
    ingest_arn: str = ""
    """The device's ingest channel (an IVS channel ARN on AWS, a local one locally)."""
    playback_url: str = ""
    """Where viewers play the device's live stream (IVS); empty locally (per stream there)."""

    @property
    def revoked(self) -> bool:
        """True when the device has no valid stream key."""
        return self.key_digest is None

    def rotate(self, new_digest: str) -> Device:
        """The device with a new key (the old one stops working)."""
        return replace(self, key_digest=new_digest, key_version=self.key_version + 1)

    def revoke(self) -> Device:
        """The device without a key: every publish is rejected until a rotation."""
        return replace(self, key_digest=None)
