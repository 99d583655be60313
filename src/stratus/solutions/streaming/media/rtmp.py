"""A small RTMP ingest server: enough of RTMP for an encoder (ffmpeg, OBS) to publish.

It speaks the plain (unencrypted, non-digest) handshake, the chunk stream, AMF0 commands
(``connect``, ``releaseStream``, ``FCPublish``, ``createStream``, ``publish``,
``FCUnpublish``, ``deleteStream``) and turns the audio/video/data messages of a published
stream into FLV tags for a sink (the HLS packager). The stream name is the stream key: the
``authorize`` callback accepts it (returning a sink) or raises :class:`IngestRejectedError`,
in which case the client gets ``NetStream.Publish.BadName`` and the connection is closed.

Stands in for the ingest of Amazon IVS / MediaLive (which validate keys themselves); playback,
multi-stream connections, AMF3 commands and RTMPS are not supported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("stratus.streaming.rtmp")

HANDSHAKE_SIZE = 1536
_AUDIO, _VIDEO, _DATA_AMF0, _COMMAND_AMF0 = 8, 9, 18, 20
_SET_CHUNK_SIZE, _ABORT, _ACK, _USER_CONTROL, _WINDOW_ACK, _PEER_BW = 1, 2, 3, 4, 5, 6
_EXTENDED = 0xFFFFFF
_WINDOW = 2_500_000


class IngestRejectedError(Exception):
    """The stream key is wrong, revoked, or the device may not publish now."""


class FlvSink(Protocol):
    """Where a published stream goes: FLV tags in order, then ``close``."""

    def write_tag(self, tag_type: int, timestamp_ms: int, payload: bytes) -> None: ...

    def close(self) -> None: ...


Authorize = Callable[[str, str, str], FlvSink]
"""``authorize(app, stream_key, client_address) -> sink``; raises IngestRejectedError."""


# ---- AMF0 ------------------------------------------------------------------------------------


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


def amf0_encode(value: Any) -> bytes:
    """Encode one AMF0 value (numbers, booleans, strings, dicts as objects, None, UNDEFINED)."""
    if value is None:
        return b"\x05"
    if value is UNDEFINED:
        return b"\x06"
    if isinstance(value, bool):
        return b"\x01" + (b"\x01" if value else b"\x00")
    if isinstance(value, int | float):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return b"\x0c" + struct.pack(">I", len(raw)) + raw
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = bytearray(b"\x03")
        for key, item in value.items():
            name = str(key).encode()
            out += struct.pack(">H", len(name)) + name + amf0_encode(item)
        return bytes(out + b"\x00\x00\x09")
    raise TypeError(f"cannot encode {type(value).__name__} as AMF0")


def amf0_decode_all(data: bytes) -> list[Any]:
    """Decode a sequence of AMF0 values (a command: name, transaction id, arguments)."""
    values: list[Any] = []
    pos = 0
    while pos < len(data):
        value, pos = _amf0_value(data, pos)
        values.append(value)
    return values


def _amf0_string(data: bytes, pos: int) -> tuple[str, int]:
    (size,) = struct.unpack_from(">H", data, pos)
    pos += 2
    return data[pos : pos + size].decode("utf-8", "replace"), pos + size


def _amf0_object(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    obj: dict[str, Any] = {}
    while pos < len(data):
        if data[pos : pos + 3] == b"\x00\x00\x09":
            return obj, pos + 3
        key, pos = _amf0_string(data, pos)
        obj[key], pos = _amf0_value(data, pos)
    return obj, pos


def _amf0_value(data: bytes, pos: int) -> tuple[Any, int]:
    marker = data[pos]
    pos += 1
    if marker == 0x00:
        return struct.unpack_from(">d", data, pos)[0], pos + 8
    if marker == 0x01:
        return data[pos] != 0, pos + 1
    if marker == 0x02:
        return _amf0_string(data, pos)
    if marker == 0x03:
        return _amf0_object(data, pos)
    if marker in (0x05, 0x06):
        return (None if marker == 0x05 else UNDEFINED), pos
    if marker == 0x08:  # ECMA array: count, then like an object
        return _amf0_object(data, pos + 4)
    if marker == 0x0A:
        (count,) = struct.unpack_from(">I", data, pos)
        pos += 4
        items = []
        for _ in range(count):
            item, pos = _amf0_value(data, pos)
            items.append(item)
        return items, pos
    if marker == 0x0B:  # date: double + timezone
        return struct.unpack_from(">d", data, pos)[0], pos + 10
    if marker == 0x0C:
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        return data[pos : pos + size].decode("utf-8", "replace"), pos + size
    raise ValueError(f"unsupported AMF0 marker 0x{marker:02x}")


# ---- FLV -------------------------------------------------------------------------------------

FLV_HEADER = b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00"


def flv_tag(tag_type: int, timestamp_ms: int, payload: bytes) -> bytes:
    """One FLV tag followed by its PreviousTagSize."""
    ts = timestamp_ms & 0xFFFFFFFF
    header = (
        bytes([tag_type])
        + len(payload).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes([ts >> 24])
        + b"\x00\x00\x00"
    )
    return header + payload + struct.pack(">I", 11 + len(payload))


_SET_DATA_FRAME = amf0_encode("@setDataFrame")


# ---- chunk stream ----------------------------------------------------------------------------


@dataclass
class _ChunkState:
    timestamp: int = 0
    delta: int = 0
    length: int = 0
    type_id: int = 0
    stream_id: int = 0
    extended: bool = False
    buffer: bytearray = field(default_factory=bytearray)


class _ClosedError(Exception):
    pass


class RtmpConnection:
    """One client connection: handshake, then messages until the client leaves."""

    def __init__(self, sock: socket.socket, address: str, authorize: Authorize) -> None:
        self.sock = sock
        self.address = address
        self.authorize = authorize
        self.in_chunk_size = 128
        self.out_chunk_size = 4096
        self.states: dict[int, _ChunkState] = {}
        self.app = ""
        self.stream_key: str | None = None
        self.sink: FlvSink | None = None
        self.received = 0
        self.acked = 0
        self._send_lock = threading.Lock()
        self.closed = threading.Event()

    # -- socket helpers -----------------------------------------------------------------------

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise _ClosedError
            data += chunk
        self.received += size
        return bytes(data)

    def _send(self, csid: int, type_id: int, stream_id: int, payload: bytes) -> None:
        out = bytearray()
        first = True
        for start in range(0, max(len(payload), 1), self.out_chunk_size):
            part = payload[start : start + self.out_chunk_size]
            if first:
                out += bytes([csid & 0x3F])
                out += (0).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
                out += bytes([type_id]) + struct.pack("<I", stream_id)
                first = False
            else:
                out += bytes([0xC0 | (csid & 0x3F)])
            out += part
        with self._send_lock:
            self.sock.sendall(bytes(out))

    def _command(self, stream_id: int, *values: Any) -> None:
        payload = b"".join(amf0_encode(v) for v in values)
        self._send(3 if stream_id == 0 else 5, _COMMAND_AMF0, stream_id, payload)

    def close(self) -> None:
        """Drop the connection (kick a publisher); the serving thread ends the session."""
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    # -- protocol -----------------------------------------------------------------------------

    def serve(self) -> None:
        try:
            self._handshake()
            while not self.closed.is_set():
                self._read_chunk()
        except (_ClosedError, OSError, ValueError, struct.error, IndexError) as exc:
            if not isinstance(exc, _ClosedError):
                log.debug("rtmp %s: %s", self.address, exc)
        finally:
            self._finish()

    def _finish(self) -> None:
        sink, self.sink = self.sink, None
        if sink is not None:
            try:
                sink.close()
            except Exception:  # a sink failure must not keep the socket open
                log.exception("rtmp %s: closing the sink failed", self.address)
        with contextlib.suppress(OSError):
            self.sock.close()

    def _handshake(self) -> None:
        c0c1 = self._read(1 + HANDSHAKE_SIZE)
        if c0c1[0] != 3:
            raise ValueError(f"unsupported RTMP version {c0c1[0]}")
        # Version bytes 4..7 zero: clients then skip the digest (FP9) handshake checks.
        s1 = struct.pack(">I", int(time.monotonic() * 1000) & 0xFFFFFFFF) + b"\x00" * 4
        s1 += os.urandom(HANDSHAKE_SIZE - 8)
        self.sock.sendall(b"\x03" + s1 + c0c1[1:])
        self._read(HANDSHAKE_SIZE)  # C2

    def _read_chunk(self) -> None:
        first = self._read(1)[0]
        fmt, csid = first >> 6, first & 0x3F
        if csid == 0:
            csid = 64 + self._read(1)[0]
        elif csid == 1:
            low, high = self._read(2)
            csid = 64 + low + high * 256
        state = self.states.setdefault(csid, _ChunkState())
        new_message = not state.buffer
        if fmt <= 2:
            ts = int.from_bytes(self._read(3), "big")
            if fmt <= 1:
                header = self._read(4)
                state.length = int.from_bytes(header[:3], "big")
                state.type_id = header[3]
                if fmt == 0:
                    state.stream_id = struct.unpack("<I", self._read(4))[0]
            state.extended = ts == _EXTENDED
            if state.extended:
                ts = struct.unpack(">I", self._read(4))[0]
            if fmt == 0:
                state.timestamp, state.delta = ts, 0
            else:
                state.delta = ts
                state.timestamp += ts
        else:
            if state.extended:
                self._read(4)
            if new_message:
                state.timestamp += state.delta
        want = min(self.in_chunk_size, state.length - len(state.buffer))
        state.buffer += self._read(max(want, 0))
        if len(state.buffer) >= state.length:
            payload, state.buffer = bytes(state.buffer), bytearray()
            self._on_message(state.type_id, state.stream_id, state.timestamp, payload)
        if self.received - self.acked >= _WINDOW:
            self.acked = self.received
            self._send(2, _ACK, 0, struct.pack(">I", self.received & 0xFFFFFFFF))

    def _on_message(self, type_id: int, stream_id: int, timestamp: int, payload: bytes) -> None:
        if type_id == _SET_CHUNK_SIZE:
            self.in_chunk_size = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
        elif type_id in (_AUDIO, _VIDEO):
            if self.sink is not None:
                self.sink.write_tag(type_id, timestamp, payload)
        elif type_id == _DATA_AMF0:
            if self.sink is not None:
                if payload.startswith(_SET_DATA_FRAME):
                    payload = payload[len(_SET_DATA_FRAME) :]
                self.sink.write_tag(_DATA_AMF0, timestamp, payload)
        elif type_id == _COMMAND_AMF0:
            self._on_command(stream_id, amf0_decode_all(payload))

    def _on_command(self, stream_id: int, values: list[Any]) -> None:
        if not values or not isinstance(values[0], str):
            return
        name = values[0]
        tx = values[1] if len(values) > 1 else 0
        if name == "connect":
            params = values[2] if len(values) > 2 and isinstance(values[2], dict) else {}
            self.app = str(params.get("app", "")).strip("/")
            self._send(2, _WINDOW_ACK, 0, struct.pack(">I", _WINDOW))
            self._send(2, _PEER_BW, 0, struct.pack(">IB", _WINDOW, 2))
            self._send(2, _SET_CHUNK_SIZE, 0, struct.pack(">I", self.out_chunk_size))
            self._command(
                0,
                "_result",
                tx,
                {"fmsVer": "FMS/3,0,1,123", "capabilities": 31},
                {
                    "level": "status",
                    "code": "NetConnection.Connect.Success",
                    "description": "Connection succeeded.",
                    "objectEncoding": 0,
                },
            )
        elif name in ("releaseStream", "FCPublish"):
            self._command(0, "_result", tx, None, UNDEFINED)
        elif name == "createStream":
            self._command(0, "_result", tx, None, 1)
        elif name == "publish":
            key = str(values[3]) if len(values) > 3 and values[3] is not None else ""
            self._publish(stream_id or 1, tx, key.split("?", 1)[0])
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            self.closed.set()

    def _publish(self, stream_id: int, tx: Any, key: str) -> None:
        try:
            self.sink = self.authorize(self.app, key, self.address)
        except IngestRejectedError as exc:
            self._command(
                stream_id,
                "onStatus",
                0,
                None,
                {"level": "error", "code": "NetStream.Publish.BadName", "description": str(exc)},
            )
            log.info("rtmp %s: publish rejected: %s", self.address, exc)
            self.closed.set()
            raise _ClosedError from exc
        self.stream_key = key
        self._send(2, _USER_CONTROL, 0, struct.pack(">HI", 0, stream_id))  # StreamBegin
        self._command(
            stream_id,
            "onStatus",
            0,
            None,
            {"level": "status", "code": "NetStream.Publish.Start", "description": "Publishing."},
        )


class RtmpServer:
    """A threaded RTMP server on ``host:port`` (``port=0``: any free port)."""

    def __init__(self, authorize: Authorize, host: str = "127.0.0.1", port: int = 1935) -> None:
        self.authorize = authorize
        self.connections: set[RtmpConnection] = set()
        self._lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = RtmpConnection(sock, f"{self.client_address[0]}", outer.authorize)
                with outer._lock:
                    outer.connections.add(conn)
                try:
                    conn.serve()
                finally:
                    with outer._lock:
                        outer.connections.discard(conn)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((host, port), Handler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``rtmp://host:port/live``: the ingest URL devices publish to (key appended)."""
        return f"rtmp://{self.host}:{self.port}/live"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
            name="streaming-rtmp",
        )
        self._thread.start()

    def kick(self, stream_key: str) -> int:
        """Close every connection publishing with ``stream_key``; return how many."""
        with self._lock:
            victims = [c for c in self.connections if c.stream_key == stream_key]
        for conn in victims:
            conn.close()
        return len(victims)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self.connections)
        for conn in conns:
            conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
