"""Amazon IVS (low-latency channels) through boto3: channels, stream keys, live streams.

Solutions map their own ingest interface onto this (the streaming solution's
``IvsIngestChannels``); here every answer is a plain value and every botocore error a port
error. IVS rules kept in mind by the callers:

- CreateChannel also creates the channel's stream key (its value is in the answer);
- a channel has at most one stream key: CreateStreamKey on a channel that has one fails
  with ServiceQuotaExceededException, so a new key is DeleteStreamKey then CreateStreamKey;
- StopStream on a channel that is not live fails with ChannelNotBroadcasting (answered
  here as ``False``); DeleteChannel on a live channel fails with ConflictException.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stratus.platform.adapters.aws.errors import Codes, codes, error_code, translate
from stratus.platform.ports.errors import (
    ConditionFailedError,
    InvalidRequestError,
    NotFoundError,
    PortError,
)

_INVALID = {"ValidationException", "PendingVerification"}
_REFUSED = {"ConflictException", "ServiceQuotaExceededException"}


@dataclass(frozen=True)
class IvsChannel:
    """A channel as CreateChannel/GetChannel describe it (``stream_key`` only on create)."""

    arn: str
    name: str
    type: str
    ingest_endpoint: str
    playback_url: str
    recording_configuration_arn: str
    stream_key: str = ""
    stream_key_arn: str = ""

    @property
    def rtmps_url(self) -> str:
        """Where encoders publish (the stream key is appended as the last path part)."""
        return f"rtmps://{self.ingest_endpoint}:443/app"


@dataclass(frozen=True)
class IvsStreamKey:
    arn: str
    channel_arn: str
    value: str = ""


_TABLE: Codes = {
    "ResourceNotFoundException": NotFoundError,
    **codes(ConditionFailedError, _REFUSED),
    **codes(InvalidRequestError, _INVALID),
}


def _translate(exc: Exception, what: str) -> PortError:
    return translate(exc, f"IVS {what}", _TABLE)


def _channel(raw: dict[str, Any], key: dict[str, Any] | None = None) -> IvsChannel:
    return IvsChannel(
        arn=str(raw["arn"]), name=str(raw.get("name", "")), type=str(raw.get("type", "")),
        ingest_endpoint=str(raw.get("ingestEndpoint", "")),
        playback_url=str(raw.get("playbackUrl", "")),
        recording_configuration_arn=str(raw.get("recordingConfigurationArn", "")),
        stream_key=str((key or {}).get("value", "")),
        stream_key_arn=str((key or {}).get("arn", "")),
    )


class IvsClient:
    """The IVS operations a channel-per-device ingest needs; ``client`` is a boto3 ``ivs``
    client (made from the environment when omitted)."""

    def __init__(self, client: Any = None, *, region: str | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("ivs", region_name=region) if region else boto3.client("ivs")
        self._ivs: Any = client

    def _call(self, what: str, operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self._ivs, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, what) from exc
        return answer

    def create_channel(
        self, name: str, *, channel_type: str = "STANDARD", latency_mode: str = "LOW",
        recording_configuration_arn: str = "", tags: dict[str, str] | None = None,
    ) -> IvsChannel:
        """A new channel and its stream key (RTMPS ingest only)."""
        params: dict[str, Any] = {"name": name, "type": channel_type,
                                  "latencyMode": latency_mode, "insecureIngest": False}
        if recording_configuration_arn:
            params["recordingConfigurationArn"] = recording_configuration_arn
        if tags:
            params["tags"] = tags
        answer = self._call(f"create channel {name}", "create_channel", **params)
        return _channel(answer["channel"], answer.get("streamKey"))

    def get_channel(self, arn: str) -> IvsChannel:
        return _channel(self._call(f"channel {arn}", "get_channel", arn=arn)["channel"])

    def update_channel_type(self, arn: str, channel_type: str) -> IvsChannel:
        """``BASIC`` (the input passed through) or ``STANDARD`` (a transcoded ladder)."""
        answer = self._call(f"update channel {arn}", "update_channel", arn=arn,
                            type=channel_type)
        return _channel(answer["channel"])

    def delete_channel(self, arn: str) -> None:
        """Delete the channel and its keys; ConditionFailedError while it is live."""
        self._call(f"delete channel {arn}", "delete_channel", arn=arn)

    def list_stream_keys(self, channel_arn: str) -> list[IvsStreamKey]:
        keys: list[IvsStreamKey] = []
        params: dict[str, Any] = {"channelArn": channel_arn}
        while True:
            answer = self._call(f"stream keys of {channel_arn}", "list_stream_keys", **params)
            keys += [IvsStreamKey(str(k["arn"]), str(k.get("channelArn", channel_arn)))
                     for k in answer.get("streamKeys", [])]
            if not answer.get("nextToken"):
                return keys
            params["nextToken"] = answer["nextToken"]

    def create_stream_key(self, channel_arn: str) -> IvsStreamKey:
        """A new key; ConditionFailedError when the channel still has one."""
        raw = self._call(f"create stream key on {channel_arn}", "create_stream_key",
                         channelArn=channel_arn)["streamKey"]
        return IvsStreamKey(str(raw["arn"]), str(raw["channelArn"]), str(raw.get("value", "")))

    def delete_stream_key(self, arn: str) -> None:
        self._call(f"delete stream key {arn}", "delete_stream_key", arn=arn)

    def stop_stream(self, channel_arn: str) -> bool:
        """Disconnect the live encoder; False when the channel was not live."""
        try:
            self._ivs.stop_stream(channelArn=channel_arn)
        except ClientError as exc:
            if error_code(exc) == "ChannelNotBroadcasting":
                return False
            raise _translate(exc, f"stop stream on {channel_arn}") from exc
        except BotoCoreError as exc:
            raise _translate(exc, f"stop stream on {channel_arn}") from exc
        return True
