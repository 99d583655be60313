"""ASL runner overhead per state transition.

Measures, in one run:
  * a chain of N Pass states on the pure interpreter (no persistence),
  * the same chain on LocalWorkflowRunner (SQLite history + checkpoints, WAL),
  * a Map over M items with a no-op Task (inline and MaxConcurrency=8),
and the baseline: the same chain as N plain Python function calls.
Prints transitions/s, µs per transition and the ratio against the baseline.

Run: .venv/bin/python benchmarks/bench_asl.py   (bounded: well under 60 s)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stratus.platform.adapters.local.clock import FakeClock
from stratus.platform.adapters.local.workflow import LocalWorkflowRunner
from stratus.platform.asl import Interpreter

N = 2_000  # Pass states in the chain
M = 1_000  # Map items
REPEATS = 3


def chain(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(n):
        state: dict[str, Any] = {"Type": "Pass", "Parameters": {"i": i, "v.$": "$.v"}}
        state.update({"End": True} if i == n - 1 else {"Next": f"S{i + 1}"})
        states[f"S{i}"] = state
    return {"StartAt": "S0", "States": states}


def map_over(concurrency: int) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": concurrency,
                "End": True,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:0:function:noop",
                            "End": True,
                        }
                    },
                },
            }
        },
    }


def noop(_resource: str, payload: Any) -> Any:
    return payload


def best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def report(label: str, seconds: float, transitions: int, baseline: float | None) -> None:
    per = seconds / transitions * 1e6
    ratio = f"  x{seconds / baseline:8.1f} baseline" if baseline else ""
    print(f"{label:<44} {transitions / seconds:>12,.0f} transitions/s {per:>9.2f} µs{ratio}")


def main() -> None:
    # Baseline: the same chain as plain Python calls (each builds the Pass state's output).
    steps = [lambda d, i=i: {"i": i, "v": d["v"]} for i in range(N)]

    def plain() -> None:
        data: dict[str, Any] = {"v": 1}
        for step in steps:
            data = step(data)

    base = best(plain)
    interpreter = Interpreter(chain(N), invoke=noop, clock=FakeClock())
    pure = best(lambda: interpreter.run({"v": 1}))

    with tempfile.TemporaryDirectory() as tmp:
        runner = LocalWorkflowRunner(Path(tmp) / "bench.sqlite3", invoke=noop, clock=FakeClock())
        runner.register("chain", chain(N))
        persisted = best(lambda: runner.start_sync("chain", {"v": 1}), repeats=1)
        runner.close()

    items = {"items": list(range(M))}
    map_base = best(lambda: [noop("r", x) for x in items["items"]])
    inline = Interpreter(map_over(1), invoke=noop, clock=FakeClock())
    pooled = Interpreter(map_over(8), invoke=noop, clock=FakeClock())
    map_inline = best(lambda: inline.run(items))
    map_pooled = best(lambda: pooled.run(items))

    print(f"ASL runner overhead — chain of {N} Pass states, Map over {M} items (best of {REPEATS})")
    report("baseline: plain Python calls", base, N, None)
    report("interpreter, Pass chain", pure, N, base)
    report("LocalWorkflowRunner (SQLite history), chain", persisted, N, base)
    report("baseline: list comprehension of no-op calls", map_base, M, None)
    report("interpreter, Map MaxConcurrency=1", map_inline, M, map_base)
    report("interpreter, Map MaxConcurrency=8 (threads)", map_pooled, M, map_base)


if __name__ == "__main__":
    main()
