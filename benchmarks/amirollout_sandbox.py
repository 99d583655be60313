"""AMI rollout in the sandbox: 20 ASGs x 5 instances with zero waits.

Run: .venv/bin/python benchmarks/amirollout_sandbox.py [--asgs 20] [--instances 5]

The whole solution runs as in `stratus ami simulate`: an Image Builder message published to
the SNS topic of the solution's template in a LocalRuntime, the rollout state machine on the
local ASL runner, the real handlers, the SQLite table and the moto sandbox fleet. Waits are
zero (boot 0 s, bake 0 s, poll 0 s) and the clock is a fake one, so the figures are the cost
of the machinery itself. Goal: wall time < 30 s.

Figures: wall time, and AWS API calls per ASG made through the Fleet adapter (counted with a
botocore before-call hook inside AwsFleet; the simulator's own moto calls are not counted).
Baseline, measured in the same run: the spec's behaviour (HealthMode=fixed, a blind wait of
0 s instead of health checks with a bake time); the ratio says what safety costs.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from stratus.platform.adapters.local.clock import FakeClock
from stratus.solutions.amirollout.scenario import parse_scenario, run


def scenario(asgs: int, instances: int, mode: str) -> dict[str, Any]:
    apps = []
    per_app = 5
    for a in range(0, asgs, per_app):
        apps.append(
            {
                "name": f"app{a // per_app}",
                "image": "bench-image",
                "ami": "bench-v1",
                "asgs": [
                    {"name": f"asg-{i:02d}", "min": 1, "max": instances * 2, "desired": instances}
                    for i in range(a, min(a + per_app, asgs))
                ],
            }
        )
    return {
        "applications": apps,
        "events": [{"image": "bench-image", "ami": "bench-v2"}],
        "boot_seconds": 0,
        "settings": {
            "HealthMode": mode,
            "BakeSeconds": 0,
            "PollSeconds": 0,
            "FixedWaitSeconds": 0,
        },
    }


def measure(asgs: int, instances: int, mode: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    result = run(parse_scenario(scenario(asgs, instances, mode)), clock=FakeClock(), timeout_s=110)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asgs", type=int, default=20)
    parser.add_argument("--instances", type=int, default=5)
    args = parser.parse_args()

    measure(2, 1, "bake")  # warm-up: imports, moto's backends, the template's handlers
    rows = []
    for label, mode in (
        ("spec: blind wait (baseline)", "fixed"),
        ("stratus: health + bake", "bake"),
    ):
        wall, result = measure(args.asgs, args.instances, mode)
        statuses = {e["status"] for e in result["executions"]}
        replaced = sum(
            1
            for asg in result["asgs"].values()
            for i in asg["instances"]
            if i["image"] != asg["original_image"]
        )
        violations = sum(len(a["violations"]) for a in result["asgs"].values())
        min_ok = all(
            a["min_healthy_seen"] >= a["original_desired"] for a in result["asgs"].values()
        )
        rows.append(
            (label, wall, result["api_calls"] / args.asgs, statuses, replaced, violations, min_ok)
        )

    print(f"AMI rollout, sandbox: {args.asgs} ASGs x {args.instances} instances, zero waits")
    header = f"{'case':<30} {'wall s':>8} {'API calls/ASG':>14}  executions"
    print(f"{header}  new-AMI instances  invariants")
    for label, wall, calls, statuses, replaced, violations, min_ok in rows:
        ok = "ok" if violations == 0 and min_ok else f"{violations} violation(s)"
        print(
            f"{label:<30} {wall:>8.2f} {calls:>14.1f}  {','.join(sorted(statuses)):<10}  "
            f"{replaced:>17}  {ok}"
        )
    base, ours = rows[0], rows[1]
    print(
        f"ratio stratus/baseline: wall {ours[1] / base[1]:.2f}x, API calls {ours[2] / base[2]:.2f}x"
    )
    print(f"goal wall < 30 s: {'met' if ours[1] < 30 else 'NOT met'} ({ours[1]:.1f} s)")


if __name__ == "__main__":
    main()
