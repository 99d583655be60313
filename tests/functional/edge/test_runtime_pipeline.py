"""`stratus up`'s runtime with the edge template, in process: the proxy in front of the demo
site, and the crawler pipeline end to end (access log → detector → table → pattern set → WAF)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from stratus.platform.runtime.app import LocalRuntime, wait_until
from stratus.solutions.edge.config import TEMPLATE
from stratus.solutions.edge.service import bot_user_agents

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
SNEAKY = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/99.0 Quietharvey"


@pytest.fixture
def runtime(tmp_path) -> Iterator[LocalRuntime]:
    rt = LocalRuntime([TEMPLATE], home=tmp_path / "home", port=0)
    rt.start()
    rt.load_demo()
    yield rt
    rt.stop()


def call(
    rt: LocalRuntime,
    path: str,
    ua: str = BROWSER,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    req = urllib.request.Request(
        rt.url + path, method=method, headers={"User-Agent": ua, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_proxy_fronts_the_demo_site(runtime):
    assert call(runtime, "/edge/site/")[0] == 200
    assert call(runtime, "/edge/site/api/products?id=1%20union%20select%20null--")[0] == 403
    assert call(runtime, "/edge/site/static/index.html")[0] == 401
    status, body = call(runtime, "/edge/idp/token", method="POST")
    token = json.loads(body)["id_token"]
    status, body = call(
        runtime, "/edge/site/static/index.html", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    assert b"signed-in users" in body


def test_the_crawler_pipeline_end_to_end(runtime):
    app = runtime.apps[0]
    table = runtime.resources.table(app.tables["BotUserAgentTable"].spec.name)
    call(runtime, "/edge/site/robots.txt", ua=SNEAKY)
    for i in range(30):
        assert call(runtime, f"/edge/site/api/products?id={i}", ua=SNEAKY)[0] == 200
    for _ in range(3):
        call(runtime, "/edge/site/", ua=BROWSER)
    flushed = json.loads(call(runtime, "/edge/site/_edge/flush-logs", method="POST")[1])
    assert flushed["key"].startswith("cloudfront/")
    assert wait_until(lambda: SNEAKY in bot_user_agents(table), timeout_s=20)
    assert BROWSER not in bot_user_agents(table)
    result: dict[str, Any] = runtime.invoke("UpdateBotPatternSetFunction", {})
    assert "quietharvey" in result["patterns"]
    call(runtime, "/edge/site/_edge/flush-logs", method="POST")  # also reloads the live sets
    assert call(runtime, "/edge/site/", ua=SNEAKY)[0] == 403
    assert call(runtime, "/edge/site/", ua=BROWSER)[0] == 200
