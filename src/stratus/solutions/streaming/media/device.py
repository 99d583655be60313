"""The device simulator: an ffmpeg test source pushed over RTMP, as a paired device would.

A moving test picture with a burnt-in wall clock (milliseconds, for glass-to-glass
measurements) and a 440 Hz tone, H.264 + AAC in FLV, one keyframe per second.
"""

from __future__ import annotations

import subprocess
import time

from stratus.solutions.streaming.media.hls import ffmpeg_path


def device_command(
    ingest_url: str,
    key: str,
    *,
    size: str = "640x360",
    fps: int = 30,
    duration_s: float | None = None,
    ffmpeg: str | None = None,
    clock: bool = True,
) -> list[str]:
    """The ffmpeg command line that publishes the test source to ``ingest_url/key``."""
    exe = ffmpeg or ffmpeg_path()
    if exe is None:
        raise RuntimeError("ffmpeg is not installed: the device simulator needs it")
    video = f"testsrc2=size={size}:rate={fps}"
    if duration_s is not None:
        video += f":duration={duration_s}"
    filters = []
    if clock:
        # UTC wall-clock time of day with milliseconds (stream time + the time of day at
        # start; -re keeps them together), burnt in for glass-to-glass measurements.
        offset = time.time() % 86400
        filters.append(
            f"drawtext=text='UTC %{{pts\\:hms\\:{offset:.3f}}}':"
            "x=10:y=h-44:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6"
        )
    cmd = [
        exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", video,
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
    ]
    if filters:
        cmd += ["-vf", ",".join(filters)]
    cmd += [
        "-map", "0:v", "-map", "1:a", "-shortest",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-profile:v", "main", "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
        "-b:v", "800k", "-c:a", "aac", "-b:a", "64k", "-ar", "44100",
        "-f", "flv", f"{ingest_url.rstrip('/')}/{key}",
    ]
    return cmd


def start_device(ingest_url: str, key: str, **options: object) -> subprocess.Popen[bytes]:
    """Start the simulator in the background (stop it with ``terminate()``)."""
    return subprocess.Popen(
        device_command(ingest_url, key, **options),  # type: ignore[arg-type]
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
