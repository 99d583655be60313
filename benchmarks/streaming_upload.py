"""Streaming, uploads and tracking: upload -> ready for a custom video, and the warehouse report.

* upload -> ready: a 30 s 1280x720 25 fps clip is announced through the API, PUT to its
  signed URL and polled until the recording is ready (S3 event -> transcoding function ->
  recording-ended event), for the three paths: H.264/AAC passthrough (``-c copy``), another
  codec re-encoded to H.264 (MPEG-4 Part 2 source), and the 720p/480p/360p ladder. Reported
  with the speed against real time (clip length / processing time); the baseline is the
  passthrough path measured in the same run;
* warehouse: events appended per second into the local SQLite warehouse, and the time of
  the admin report (DAU, views per channel, top streams) over 7 days of 200,000 events.

Bounded (< 3 min). Needs ffmpeg.

    .venv/bin/python benchmarks/streaming_upload.py
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from stratus.platform.runtime.app import LocalRuntime
from stratus.solutions.streaming.domain.orders import Product
from stratus.solutions.streaming.warehouse import SqliteWarehouse, TrackedEvent

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "src/stratus/solutions/streaming/infra/template.yaml"
SHIP = {"name": "A", "address": "B", "city": "C", "postcode": "D", "country": "DE"}
CLIP_S = 30


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def clip(path: Path, *codec: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={CLIP_S}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_S}", *codec, "-shortest",
         str(path)], check=True, timeout=300)
    return path


def upload_to_ready(base: str, token: str, channel_id: str, file: Path, quality: str) -> float:
    data = file.read_bytes()
    grant = call(base, "POST", f"/streaming/channels/{channel_id}/uploads",
                 {"title": file.name, "content_type": "video/mp4", "size_bytes": len(data),
                  "quality": quality}, token)
    rid = grant["recording"]["recording_id"]
    started = time.perf_counter()
    req = urllib.request.Request(grant["upload"]["url"], data=data, method="PUT")
    req.add_header("Content-Type", "video/mp4")
    urllib.request.urlopen(req, timeout=60).close()
    while time.perf_counter() - started < 300:
        rec = call(base, "GET", f"/streaming/recordings/{rid}", token=token)
        if rec["ready"] or rec["error"]:
            if rec["error"]:
                raise RuntimeError(rec["error"])
            return time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError("upload not ready after 300 s")


def uploads(tmp: Path) -> None:
    os.environ["STRATUS_STREAMING_RTMP_PORT"] = "0"
    os.environ["STRATUS_STREAMING_CHAT_PORT"] = "0"
    runtime = LocalRuntime([TEMPLATE], home=tmp / "home", port=0)
    runtime.start()
    try:
        runtime.services["/streaming/site"].ports.store.put_product(Product("box", "Box", 100))
        base = runtime.url
        token = call(base, "POST", "/streaming/auth/register",
                     {"email": "b@example.com", "password": "bench password 1"})["token"]
        call(base, "POST", "/streaming/orders",
             {"product_id": "box", "shipping": SHIP, "payment_token": "tok_ok"}, token)
        channel = call(base, "POST", "/streaming/channels", {"name": "bench"}, token)
        h264 = clip(tmp / "h264.mp4", "-c:v", "libx264", "-preset", "veryfast", "-g", "50",
                    "-c:a", "aac")
        mpeg4 = clip(tmp / "mpeg4.avi", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "mp3")
        cases = [("passthrough (H.264 copy)", h264, "passthrough"),
                 ("re-encode (MPEG-4 -> H.264)", mpeg4, "passthrough"),
                 ("ladder 720/480/360p", h264, "ladder")]
        baseline = None
        print(f"upload -> ready, {CLIP_S} s 1280x720 clip ({os.cpu_count()} CPUs)")
        for name, file, quality in cases:
            seconds = upload_to_ready(base, token, channel["channel_id"], file, quality)
            baseline = baseline or seconds
            print(f"  {name:30s} {seconds:6.2f} s  {CLIP_S / seconds:6.1f}x real time  "
                  f"ratio to passthrough {seconds / baseline:5.1f}")
    finally:
        runtime.stop()


def warehouse(tmp: Path) -> None:
    wh = SqliteWarehouse(tmp / "warehouse.sqlite3")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    n = 200_000
    began = time.perf_counter()
    for i in range(n):
        wh.record(TrackedEvent(
            f"e{i}", start + timedelta(seconds=i * 3), "view_channel" if i % 3 else "GET /home",
            f"u{i % 5000}", f"c{i % 50}", f"s{i % 400}" if i % 2 else "",
        ))
    appended = time.perf_counter() - began
    first, last = date(2026, 1, 1), date(2026, 1, 7)
    began = time.perf_counter()
    wh.actions(first, last)
    wh.users(first, last)
    wh.daily_active_users(first, last)
    wh.views_per_channel(first, last)
    wh.top_streams(first, last)
    report = time.perf_counter() - began
    wh.close()
    print(f"warehouse: {n / appended:,.0f} events appended/s (one insert each); "
          f"report over 7 days of {n:,} events: {report * 1000:.0f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uploads(Path(tmp))
        warehouse(Path(tmp))


if __name__ == "__main__":
    main()
