"""Streaming chat: deliveries per CPU-second of the chat server at 1,000 viewers, and the p99
latency from send to delivery (goals: >= 20,000 deliveries per CPU-second, p99 <= 250 ms).

Starts `stratus up --demo` as a separate process (the chat server runs in it, one thread per
socket), opens V WebSocket viewers on the demo channel (asyncio clients spread over a few
processes, so the client side is not the bottleneck),
and has the demo owner post M messages at R per second. Every message carries its send
time; each viewer records the delay at arrival. Server CPU from /proc/<pid>/stat (idle rate
subtracted). Bounded: connection phase + M / R seconds + drain (< 1 min by default).

    .venv/bin/python benchmarks/streaming_chat.py [VIEWERS] [MESSAGES] [RATE] [CLIENT_PROCS]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "src/stratus/solutions/streaming/infra/template.yaml"
STRATUS = str(Path(sys.executable).parent / "stratus")
TICK = os.sysconf("SC_CLK_TCK")
GOAL_RATE, GOAL_P99_MS = 20_000, 250


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def http(base: str, method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


async def viewers_process(chat_url: str, channel: str, viewers: int, expected: int,
                          ready: Any, go: Any, out: Any) -> None:
    """One client process: ``viewers`` sockets, every arrival's delay recorded."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def listen(ws: Any) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "message":
                latencies.append(time.time() - float(frame["text"].split()[1]))
                if len(latencies) >= expected:
                    done.set()

    sockets = []
    for start in range(0, viewers, 100):
        batch = range(start, min(viewers, start + 100))
        sockets += await asyncio.gather(*(
            connect(f"{chat_url}/chat/{channel}", max_queue=None, ping_interval=None)
            for _ in batch
        ))
    for ws in sockets:
        await ws.recv()  # history
    tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
    ready.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=90)
    for task in tasks:
        task.cancel()
    out.put(latencies)


def client_main(*args: Any) -> None:
    asyncio.run(viewers_process(*args))


async def send(chat_url: str, channel: str, token: str, messages: int, rate: float) -> None:
    sender = await connect(f"{chat_url}/chat/{channel}?token={token}", ping_interval=None)
    await sender.recv()
    for i in range(messages):
        await sender.send(json.dumps({"type": "say", "text": f"m{i} {time.time():.6f}"}))
        await asyncio.sleep(1 / rate)
    await sender.close()


def run(chat_url: str, channel: str, token: str, viewers: int, messages: int, rate: float,
        pid: int, procs: int) -> tuple[list[float], float, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    share = [viewers // procs + (1 if i < viewers % procs else 0) for i in range(procs)]
    readies = [ctx.Event() for _ in share]
    workers = [
        ctx.Process(target=client_main,
                    args=(chat_url, channel, n, n * messages, readies[i], None, out))
        for i, n in enumerate(share)
    ]
    for w in workers:
        w.start()
    for ready in readies:
        ready.wait(timeout=60)
    idle0 = cpu_seconds(pid)
    time.sleep(1)
    idle = cpu_seconds(pid) - idle0
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    asyncio.run(send(chat_url, channel, token, messages, rate))
    latencies: list[float] = []
    for _ in workers:
        latencies += out.get(timeout=120)
    cpu = cpu_seconds(pid) - cpu0 - idle * (time.monotonic() - t0)
    elapsed = time.monotonic() - t0
    for w in workers:
        w.join(timeout=10)
    return latencies, cpu, elapsed


def main() -> None:
    viewers = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    procs = int(sys.argv[4]) if len(sys.argv) > 4 else min(4, os.cpu_count() or 1)
    port, chat_port = free_port(), free_port()
    env = {**os.environ, "STRATUS_STREAMING_RTMP_PORT": "0",
           "STRATUS_STREAMING_CHAT_PORT": str(chat_port)}
    env.pop("STRATUS_REDIS_URL", None)
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [STRATUS, "up", "--template", str(TEMPLATE), "--home", home, "--port", str(port),
             "--demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}/streaming"
            deadline = time.monotonic() + 30
            while True:
                try:
                    home_page = http(base, "GET", "/home")
                    if home_page["channels"]:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("stratus up did not come up")
                time.sleep(0.2)
            channel = home_page["channels"][0]["channel_id"]
            token = http(base, "POST", "/auth/login", {"email": "demo@streaming.example.com",
                                                        "password": "demo-password-1"})["token"]
            latencies, cpu, elapsed = run(f"ws://127.0.0.1:{chat_port}", channel, token,
                                          viewers, messages, rate, server.pid, procs)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    latencies.sort()
    n = len(latencies)
    p50 = latencies[n // 2] * 1000 if n else float("nan")
    p99 = latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan")
    per_cpu = n / max(cpu, 1e-9)
    print(f"streaming chat: {viewers} viewers ({procs} client processes), {messages} messages "
          f"at {rate:g}/s, loopback")
    print(f"deliveries: {n} of {viewers * messages} in {elapsed:.1f} s, server CPU {cpu:.2f} s")
    print(f"deliveries per CPU-second: {per_cpu:.0f}  goal {GOAL_RATE}  "
          f"ratio {per_cpu / GOAL_RATE:.2f}x")
    print(f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms  goal p99 {GOAL_P99_MS} ms  "
          f"ratio {GOAL_P99_MS / p99:.2f}x")


if __name__ == "__main__":
    main()
