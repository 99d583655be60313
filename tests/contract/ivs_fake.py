"""A small hand-written fake of the Amazon IVS operations moto (5.2) does not implement.

moto's IVS backend has channels only (CreateChannel, GetChannel, BatchGetChannel,
ListChannels, UpdateChannel, DeleteChannel). The stream-key and live-stream operations
(CreateStreamKey, GetStreamKey, ListStreamKeys, DeleteStreamKey, StopStream, GetStream) are
answered here, and the encoder side is simulated (:meth:`FakeIvs.publish`).

It is plugged into a real boto3 ``ivs`` client with botocore's ``before-call`` event, so
botocore still checks every request against IVS's service model (names, types, required
parameters) and turns error answers into the client's real exception classes. Channel calls
still go to moto; ``after-call`` hooks watch them to learn the channels and the key
CreateChannel makes. Rules copied from the IVS API reference:

- one stream key per channel: CreateStreamKey on a channel with a key is
  ServiceQuotaExceededException (reset = DeleteStreamKey, then CreateStreamKey);
- StopStream on a channel that is not live is ChannelNotBroadcasting;
- DeleteChannel and UpdateChannel on a live channel are ConflictException;
- deleting the key does not stop a live stream (StopStream does);
- unknown channel or key ARNs are ResourceNotFoundException.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

STATUS = {"ResourceNotFoundException": 404, "ServiceQuotaExceededException": 402,
          "ChannelNotBroadcasting": 404, "ConflictException": 409}


@dataclass
class _Key:
    arn: str
    channel_arn: str
    value: str


class FakeIvs:
    """The key and stream state of IVS for one boto3 client (attach with ``FakeIvs(client)``)."""

    def __init__(self, client: Any) -> None:
        self.channels: set[str] = set()
        self.keys: dict[str, _Key] = {}
        self.live: dict[str, str] = {}  # channel ARN -> IVS stream id
        self.calls: list[str] = []
        self._region = client.meta.region_name
        events = client.meta.events
        events.register("before-call.ivs", self._before)
        events.register("after-call.ivs.CreateChannel", self._created)
        events.register("after-call.ivs.DeleteChannel", self._deleted)

    # -- the encoder side -----------------------------------------------------------------------

    def publish(self, channel_arn: str, key: str) -> str | None:
        """An encoder connects with ``key``: the new stream id, or None when IVS refuses."""
        if not any(k.channel_arn == channel_arn and k.value == key for k in self.keys.values()):
            return None
        stream_id = "st-" + secrets.token_hex(12)
        self.live[channel_arn] = stream_id
        return stream_id

    def accepts(self, channel_arn: str, key: str) -> bool:
        return any(k.channel_arn == channel_arn and k.value == key for k in self.keys.values())

    # -- hooks ----------------------------------------------------------------------------------

    def _created(self, parsed: dict[str, Any], **_: Any) -> None:
        if "channel" in parsed:
            self.channels.add(parsed["channel"]["arn"])
            key = parsed["streamKey"]
            self.keys[key["arn"]] = _Key(key["arn"], key["channelArn"], key["value"])

    def _deleted(self, http_response: Any, params: Any = None, **kwargs: Any) -> None:
        arn = kwargs.get("context", {}).get("fake_ivs_arn")
        if http_response.status_code < 300 and arn:
            self.channels.discard(arn)
            self.keys = {a: k for a, k in self.keys.items() if k.channel_arn != arn}

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any],
                **_: Any) -> tuple[Any, dict[str, Any]] | None:
        body = json.loads(params.get("body") or b"{}")
        self.calls.append(model.name)
        handler = getattr(self, "_op_" + re.sub(r"(?<!^)(?=[A-Z])", "_", model.name).lower(),
                          None)
        if model.name == "DeleteChannel":
            context["fake_ivs_arn"] = body["arn"]
        if handler is None:
            return None  # moto answers
        return handler(body)

    @staticmethod
    def _ok(status: int = 200, **payload: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=status, headers={}), {
            **payload, "ResponseMetadata": {"HTTPStatusCode": status}}

    @staticmethod
    def _error(code: str, message: str) -> tuple[Any, dict[str, Any]]:
        status = STATUS[code]
        return SimpleNamespace(status_code=status, headers={}), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status}}

    def _channel(self, arn: str) -> tuple[Any, dict[str, Any]] | None:
        if arn not in self.channels:
            return self._error("ResourceNotFoundException", f"Resource: {arn} not found")
        return None

    def _op_create_stream_key(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        arn = body["channelArn"]
        if (missing := self._channel(arn)) is not None:
            return missing
        if any(k.channel_arn == arn for k in self.keys.values()):
            return self._error("ServiceQuotaExceededException",
                               "limit of 1 stream key per channel reached")
        account = arn.split(":")[4]
        key = _Key(f"arn:aws:ivs:{self._region}:{account}:stream-key/{secrets.token_hex(6)}",
                   arn, f"sk_{self._region}_{secrets.token_urlsafe(32)}")
        self.keys[key.arn] = key
        return self._ok(streamKey={"arn": key.arn, "channelArn": arn, "value": key.value,
                                   "tags": body.get("tags", {})})

    def _op_get_stream_key(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        key = self.keys.get(body["arn"])
        if key is None:
            return self._error("ResourceNotFoundException", f"Resource: {body['arn']} not found")
        return self._ok(streamKey={"arn": key.arn, "channelArn": key.channel_arn,
                                   "value": key.value, "tags": {}})

    def _op_list_stream_keys(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        arn = body["channelArn"]
        if (missing := self._channel(arn)) is not None:
            return missing
        return self._ok(streamKeys=[{"arn": k.arn, "channelArn": arn, "tags": {}}
                                    for k in self.keys.values() if k.channel_arn == arn])

    def _op_delete_stream_key(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if self.keys.pop(body["arn"], None) is None:
            return self._error("ResourceNotFoundException", f"Resource: {body['arn']} not found")
        return self._ok(204)

    def _op_stop_stream(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        arn = body["channelArn"]
        if (missing := self._channel(arn)) is not None:
            return missing
        if self.live.pop(arn, None) is None:
            return self._error("ChannelNotBroadcasting", "the channel is not live")
        return self._ok()

    def _op_get_stream(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        arn = body["channelArn"]
        if (missing := self._channel(arn)) is not None:
            return missing
        if arn not in self.live:
            return self._error("ChannelNotBroadcasting", "the channel is not live")
        return self._ok(stream={"channelArn": arn, "streamId": self.live[arn],
                                "state": "LIVE", "health": "HEALTHY"})

    def _refuse_live(self, body: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
        if body["arn"] in self.live:
            return self._error("ConflictException", "the channel is live")
        return None  # moto answers

    _op_delete_channel = _refuse_live
    _op_update_channel = _refuse_live
