"""Streaming delivery: live HLS segment requests served per CPU-second of the server, and the
viewers per core that makes (goal: >= 500 viewers per core).

Starts `stratus up --demo` (its demo device is live) as a separate process, then C client
threads fetch the live playlist and its newest segment over loopback keep-alive HTTP for
D seconds. Server CPU comes from /proc/<pid>/stat (user + system of the Python process;
ffmpeg children are not counted). A viewer of 1 s segments asks for one playlist and one
segment per second, so viewers per core = requests per CPU-second / 2.

    .venv/bin/python benchmarks/streaming_delivery.py [CLIENTS] [SECONDS]
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "src/stratus/solutions/streaming/infra/template.yaml"
STRATUS = str(Path(sys.executable).parent / "stratus")
GOAL_VIEWERS_PER_CORE = 500
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{path}: {resp.status}")
    return body


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    port = free_port()
    env = {**os.environ, "STRATUS_STREAMING_RTMP_PORT": "0", "STRATUS_STREAMING_CHAT_PORT": "0"}
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [STRATUS, "up", "--template", str(TEMPLATE), "--home", home, "--port", str(port),
             "--demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            deadline = time.monotonic() + 30
            stream_id = None
            while stream_id is None and time.monotonic() < deadline:
                try:
                    live = json.loads(get(conn, "/streaming/home"))["live"]
                    stream_id = live[0]["stream_id"] if live else None
                except (OSError, RuntimeError, http.client.HTTPException):
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                time.sleep(0.2)
            if stream_id is None:
                raise SystemExit("the demo stream did not go live")
            playlist = f"/streaming/site/live/{stream_id}/index.m3u8"
            while time.monotonic() < deadline:
                try:
                    if b".ts" in get(conn, playlist):
                        break
                except RuntimeError:
                    time.sleep(0.2)
            time.sleep(2)
            counts = [0] * clients
            stop = threading.Event()

            def viewer(i: int) -> None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                while not stop.is_set():
                    text = get(c, playlist + f"?v=bench{i}").decode()
                    segment = [ln for ln in text.splitlines() if ln.endswith(".ts")][-1]
                    get(c, f"/streaming/site/live/{stream_id}/{segment}")
                    counts[i] += 2

            idle0 = cpu_seconds(server.pid)
            time.sleep(2)
            idle_rate = (cpu_seconds(server.pid) - idle0) / 2
            threads = [threading.Thread(target=viewer, args=(i,)) for i in range(clients)]
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join()
            cpu = cpu_seconds(server.pid) - cpu0 - idle_rate * (time.monotonic() - t0)
            elapsed = time.monotonic() - t0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    total = sum(counts)
    per_cpu = total / max(cpu, 1e-9)
    viewers = per_cpu / 2
    print(f"streaming delivery: {clients} clients x {elapsed:.1f} s, loopback, 1 s TS segments")
    print(f"requests: {total} ({total / elapsed:.0f}/s wall), server CPU {cpu:.2f} s "
          f"(idle {idle_rate:.2f} CPU-s/s subtracted)")
    print(f"requests per CPU-second: {per_cpu:.0f}")
    print(f"viewers per core: {viewers:.0f}  goal {GOAL_VIEWERS_PER_CORE}  "
          f"ratio {viewers / GOAL_VIEWERS_PER_CORE:.2f}x")


if __name__ == "__main__":
    main()
