"""Demo data for the example application: a few orders placed through its own API.

Run by `stratus up --demo` (template Metadata ``stratus.demo``). Placing an order that already
exists answers 409, so loading twice changes nothing.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

ORDERS = [
    {"id": "demo-1", "items": [{"sku": "widget", "qty": 2}]},
    {"id": "demo-2", "items": [{"sku": "gadget", "qty": 1}, {"sku": "widget", "qty": 5}]},
    {"id": "demo-3", "items": [{"sku": "OUT-OF-STOCK", "qty": 1}]},
]


def load(runtime: Any) -> list[str]:
    """Place the demo orders; return one line per order."""
    lines = []
    for order in ORDERS:
        request = urllib.request.Request(
            f"{runtime.url}/example_app/orders",
            data=json.dumps(order).encode(),
            method="POST",
            headers={"Authorization": "allow-demo", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        outcome = {201: "placed", 409: "already there"}.get(status, f"HTTP {status}")
        lines.append(f"order {order['id']}: {outcome}")
    lines.append(
        "try: curl -H 'Authorization: allow-me' " + f"{runtime.url}/example_app/orders/demo-1"
    )
    return lines
