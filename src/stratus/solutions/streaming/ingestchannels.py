"""Ingest channels: where a device publishes, with which stream key, and where viewers play it.

One channel per paired device. :class:`IngestChannels` is the solution's port; ``bootstrap``
picks the adapter by target:

- :class:`LocalIngestChannels` (local target): the media service's RTMP server is the ingest.
  A key is ``sk_`` + 24 random bytes; only its SHA-256 is kept, in the table (``KEY#<sha256>``
  names the device, ``LOCALINGEST#<device>`` holds the current digest). The RTMP publish hook
  (``service.start_publish``) accepts a key whose ``KEY#`` item names a device whose current
  digest it is. Playback is per stream on the local site (``/live/<stream id>/index.m3u8``),
  so ``playback_url`` is empty. A revoked device's live stream is cut by the media service
  once the service has ended the stream (its watcher polls stream states).
- :class:`IvsIngestChannels` (aws target): one Amazon IVS channel per device (``BASIC`` for
  a passthrough device, ``STANDARD`` for the transcoded ladder), recorded with the stack's
  recording configuration; IVS checks the key itself, and its EventBridge events tell the
  solution when a stream starts and ends (``entrypoints/ivs.py``).

Errors: ``NotFoundError`` for an unknown channel, ``ConditionFailedError`` when IVS refuses a
change of a live channel, other ``PortError`` from the backend.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from stratus.platform.ports import InvalidRequestError, NotFoundError
from stratus.solutions.streaming.domain.devices import key_digest
from stratus.solutions.streaming.domain.streams import StreamStatus
from stratus.solutions.streaming.store import MissingError

if TYPE_CHECKING:
    from stratus.platform.adapters.aws.ivs import IvsClient
    from stratus.solutions.streaming.store import Store

LOCAL_ARN_PREFIX = "arn:aws:ivs:local:000000000000:channel/"


@dataclass(frozen=True)
class IngestChannel:
    """A device's channel. ``stream_key`` is set only when a key was just made (it is shown
    once); the device publishes to ``ingest_url + "/" + stream_key``."""

    arn: str
    ingest_url: str
    stream_key: str = ""
    playback_url: str = ""

    @property
    def channel_id(self) -> str:
        """The resource id: the last part of the ARN."""
        return self.arn.rsplit("/", 1)[-1]


class IngestChannels(Protocol):
    """Channels and stream keys of devices."""

    def provision(self, device_id: str, *, ladder: bool = False) -> IngestChannel:
        """A new channel for a device, with its first stream key."""
        ...

    def rotate_key(self, arn: str) -> IngestChannel:
        """A new stream key; the old one is refused from now on (a live stream goes on)."""
        ...

    def revoke(self, arn: str) -> None:
        """No key at all, and a live stream is cut; ``rotate_key`` gives a key again."""
        ...

    def stop(self, arn: str) -> bool:
        """Cut the live encoder connection now (the key stays); False when none was live."""
        ...

    def set_quality(self, arn: str, *, ladder: bool) -> None:
        """Passthrough or a transcoded ladder from the next publish on."""
        ...

    def delete(self, arn: str) -> None:
        """The channel and its key are gone."""
        ...


def new_stream_key() -> str:
    """A local stream key: ``sk_`` + 24 random bytes (URL-safe base64)."""
    return "sk_" + pysecrets.token_urlsafe(24)


def local_channel_arn(device_id: str) -> str:
    """The local channel of a device (an IVS-shaped ARN in the ``local`` region)."""
    return LOCAL_ARN_PREFIX + device_id


class LocalIngestChannels:
    """Channels of the local media service: keys in the table, checked by the publish hook.

    ``ingest_url`` is the RTMP base URL; when empty, the one the running media service
    recorded in the table's ``media`` config (its port may be chosen at start-up)."""

    def __init__(self, store: Store, ingest_url: str = "") -> None:
        self.store = store
        self._ingest_url = ingest_url

    def ingest_url(self) -> str:
        return self._ingest_url or str(self.store.config("media").get("ingest_url", ""))

    def _device_id(self, arn: str) -> str:
        if not arn.startswith(LOCAL_ARN_PREFIX) or arn == LOCAL_ARN_PREFIX:
            raise InvalidRequestError(f"not a local ingest channel: {arn!r}")
        device_id = arn[len(LOCAL_ARN_PREFIX):]
        if not self.store.local_ingest_exists(device_id):
            try:  # a device paired before ingest channels: its key is the one it has
                device = self.store.device(device_id)
            except MissingError:
                raise NotFoundError(f"ingest channel {arn}: not found") from None
            self.store.put_local_ingest(device_id, device.key_digest)
        return device_id

    def _new_key(self, device_id: str) -> str:
        key = new_stream_key()
        digest = key_digest(key)
        self.store.put_key(digest, device_id)
        self.store.put_local_ingest(device_id, digest)
        return key

    def provision(self, device_id: str, *, ladder: bool = False) -> IngestChannel:
        """The quality is the device's own setting here: the packager reads it per publish."""
        key = self._new_key(device_id)
        return IngestChannel(local_channel_arn(device_id), self.ingest_url(), key)

    def rotate_key(self, arn: str) -> IngestChannel:
        device_id = self._device_id(arn)
        self.store.delete_key(self.store.local_ingest_digest(device_id))
        return IngestChannel(arn, self.ingest_url(), self._new_key(device_id))

    def revoke(self, arn: str) -> None:
        device_id = self._device_id(arn)
        self.store.delete_key(self.store.local_ingest_digest(device_id))
        self.store.put_local_ingest(device_id, None)

    def stop(self, arn: str) -> bool:
        """Nothing to call: the media service cuts an encoder whose stream the service ended.
        Answers whether the device had a live stream."""
        device_id = self._device_id(arn)
        try:
            device = self.store.device(device_id)
        except MissingError:
            return False
        return any(s.device_id == device_id and s.status is StreamStatus.LIVE
                   for s in self.store.streams_of(device.channel_id))

    def set_quality(self, arn: str, *, ladder: bool) -> None:
        self._device_id(arn)  # the packager reads the device's quality at each publish

    def delete(self, arn: str) -> None:
        device_id = self._device_id(arn)
        self.store.delete_key(self.store.local_ingest_digest(device_id))
        self.store.delete_local_ingest(device_id)


class IvsIngestChannels:
    """One Amazon IVS channel per device, named ``<prefix>-<device id>``, recorded with
    ``recording_configuration_arn`` (IVS auto-record to the recordings bucket)."""

    def __init__(
        self, client: IvsClient | None = None, *, recording_configuration_arn: str = "",
        name_prefix: str = "streaming",
    ) -> None:
        if client is None:
            from stratus.platform.adapters.aws.ivs import IvsClient

            client = IvsClient()
        self.ivs = client
        self.recording_configuration_arn = recording_configuration_arn
        self.name_prefix = name_prefix

    def provision(self, device_id: str, *, ladder: bool = False) -> IngestChannel:
        channel = self.ivs.create_channel(
            f"{self.name_prefix}-{device_id}"[:128],
            channel_type="STANDARD" if ladder else "BASIC",
            recording_configuration_arn=self.recording_configuration_arn,
            tags={"stratus:device": device_id},
        )
        return IngestChannel(channel.arn, channel.rtmps_url, channel.stream_key,
                             channel.playback_url)

    def rotate_key(self, arn: str) -> IngestChannel:
        """DeleteStreamKey then CreateStreamKey: IVS allows one key per channel."""
        channel = self.ivs.get_channel(arn)
        for key in self.ivs.list_stream_keys(arn):
            self.ivs.delete_stream_key(key.arn)
        key = self.ivs.create_stream_key(arn)
        return IngestChannel(arn, channel.rtmps_url, key.value, channel.playback_url)

    def revoke(self, arn: str) -> None:
        """Keys first (encoders reconnect on their own), then StopStream."""
        for key in self.ivs.list_stream_keys(arn):
            self.ivs.delete_stream_key(key.arn)
        self.ivs.stop_stream(arn)

    def stop(self, arn: str) -> bool:
        return self.ivs.stop_stream(arn)

    def set_quality(self, arn: str, *, ladder: bool) -> None:
        """UpdateChannel's type; IVS refuses it while the channel is live."""
        self.ivs.update_channel_type(arn, "STANDARD" if ladder else "BASIC")

    def delete(self, arn: str) -> None:
        """DeleteChannel (its key goes with it); IVS refuses it while the channel is live."""
        self.ivs.delete_channel(arn)
