from __future__ import annotations

import struct
from pathlib import Path

from stratus.solutions.streaming.media.device import device_command
from stratus.solutions.streaming.media.hls import packager_command
from stratus.solutions.streaming.media.rtmp import (
    UNDEFINED,
    amf0_decode_all,
    amf0_encode,
    flv_tag,
)


def test_amf0_round_trips_a_command() -> None:
    values = ["connect", 1.0, {"app": "live", "tcUrl": "rtmp://h/live", "fpad": False}, None]
    payload = b"".join(amf0_encode(v) for v in values)
    assert amf0_decode_all(payload) == values
    assert amf0_decode_all(amf0_encode(UNDEFINED)) == [UNDEFINED]


def test_flv_tags_carry_size_timestamp_and_previous_tag_size() -> None:
    tag = flv_tag(9, 0x01020304, b"abc")
    assert tag[0] == 9
    assert int.from_bytes(tag[1:4], "big") == 3
    assert int.from_bytes(tag[4:7], "big") == 0x020304
    assert tag[7] == 0x01  # extended timestamp byte
    assert tag[11:14] == b"abc"
    assert struct.unpack(">I", tag[-4:])[0] == 14


def test_the_packager_copies_by_default_and_ladders_on_request(tmp_path: Path) -> None:
    copy = packager_command("ffmpeg", tmp_path)
    assert copy[copy.index("-c") + 1] == "copy"
    ladder = packager_command("ffmpeg", tmp_path, ladder=True)
    assert "-var_stream_map" in ladder
    assert ladder[ladder.index("-var_stream_map") + 1].count("name:") == 3


def test_the_device_pushes_h264_aac_flv_to_ingest_slash_key() -> None:
    cmd = device_command("rtmp://127.0.0.1:1935/live/", "sk_x", ffmpeg="ffmpeg", duration_s=5)
    assert cmd[-1] == "rtmp://127.0.0.1:1935/live/sk_x"
    assert cmd[cmd.index("-c:v") + 1] == "libx264"
    assert any("drawtext" in part for part in cmd)
    assert any("duration=5" in part for part in cmd)
