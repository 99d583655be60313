"""``stratus edge``: classify requests with the WebACL, check user agents, run the proxy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import click

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@click.group("edge")
def command() -> None:
    """Edge security (solution 3): WAF rules, bot user agents, the CloudFront stand-in."""


def _engine(rules: Path | None) -> tuple[Any, Any, Any]:
    from stratus.platform.adapters.local.clock import SystemClock
    from stratus.solutions.edge import config as edgeconfig
    from stratus.solutions.edge.domain.crawler import UaMatcher
    from stratus.solutions.edge.domain.waf import RateLimiter, WebAclError, parse_web_acl

    cfg = edgeconfig.load()
    spec: Any = cfg.web_acl
    if rules is not None:
        try:
            spec = json.loads(rules.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"--rules {rules}: {exc}") from exc
        spec = spec.get("WebACL", spec) if isinstance(spec, dict) else spec
    try:
        acl = parse_web_acl(spec, reference=_reference)
    except (WebAclError, KeyError, TypeError, ValueError) as exc:
        raise click.UsageError(f"rules: {exc}") from exc

    class Sets:
        def ip_set(self, arn: str) -> Any:
            return cfg.ip_sets.get(arn, ())

        def regex_set(self, arn: str) -> Any:
            patterns = cfg.regex_sets.get(arn)
            return UaMatcher(patterns).pattern if patterns else None

    return acl, Sets(), RateLimiter(SystemClock())


def _reference(value: Any) -> str:
    """An ARN (``arn:aws:wafv2:...:regexpatternset/NAME/ID``) or a template reference."""
    if isinstance(value, dict):
        target = value.get("Fn::GetAtt")
        if isinstance(target, list):
            return str(target[0])
        return str(target).split(".")[0]
    text = str(value)
    parts = text.split("/")
    return parts[-2] if text.startswith("arn:") and len(parts) >= 3 else text


def _request_for(value: str, field: str, index: int) -> Any:
    from stratus.solutions.edge.domain.waf import WafRequest

    ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    headers: list[tuple[str, str]] = [("User-Agent", BROWSER_UA), ("Host", "localhost")]
    if field == "uri":
        return WafRequest(
            "GET", "/" + quote(value.lstrip("/"), safe="/"), "", tuple(headers), b"", ip
        )
    if field == "body":
        return WafRequest("POST", "/", "", tuple(headers), quote(value, safe="=&").encode(), ip)
    if field.startswith("header:"):
        name = field.split(":", 1)[1]
        headers = [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]
        return WafRequest("GET", "/", "", tuple(headers), b"", ip)
    return WafRequest("GET", "/", "q=" + quote(value, safe=""), tuple(headers), b"", ip)


def _request_from_json(raw: dict[str, Any], index: int) -> Any:
    from stratus.solutions.edge.domain.waf import WafRequest

    uri = str(raw.get("uri", "/"))
    path, _, query = uri.partition("?")
    headers = raw.get("headers") or {}
    pairs = list(headers.items()) if isinstance(headers, dict) else [tuple(h) for h in headers]
    body = raw.get("body") or raw.get("data") or ""
    return WafRequest(
        str(raw.get("method", "GET")).upper(),
        path or "/",
        query,
        tuple((str(k), str(v)) for k, v in pairs),
        body.encode() if isinstance(body, str) else bytes(body),
        str(raw.get("ip", "198.51.100.7")),
    )


def _emit(out: TextIO, value: Any, verdict: Any, acl: Any) -> None:
    labels = sorted(verdict.labels)
    out.write(
        json.dumps(
            {
                "input": value,
                "action": verdict.action
                if not any(m.action == "COUNT" for m in verdict.matches) or verdict.blocked
                else "COUNT",
                "rules": [m.name for m in verdict.matches],
                "labels": labels,
            }
        )
        + "\n"
    )


@command.command()
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="WebACL JSON (CreateWebACL input or template Properties). Default: ours.",
)
@click.option(
    "--field",
    default="query",
    show_default=True,
    help="Where each stdin value goes: uri, query, body or header:NAME.",
)
@click.option(
    "--requests",
    "requests_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON lines (or a JSON list) of requests: method, uri, headers, body.",
)
def classify(rules: Path | None, field: str, requests_file: Path | None) -> None:
    """Classify values from stdin (one per line) or requests: one JSON line per input."""
    if field not in ("uri", "query", "body") and not field.startswith("header:"):
        raise click.UsageError("--field is uri, query, body or header:NAME")
    acl, sets, limiter = _engine(rules)
    out = sys.stdout
    if requests_file is not None:
        text = requests_file.read_text(encoding="utf-8")
        try:
            items = (
                json.loads(text)
                if text.lstrip().startswith("[")
                else [json.loads(line) for line in text.splitlines() if line.strip()]
            )
        except ValueError as exc:
            raise click.UsageError(f"--requests: not JSON: {exc}") from exc
        for i, raw in enumerate(items):
            verdict = acl.evaluate(_request_from_json(raw, i), sets, limiter)
            _emit(out, raw.get("uri"), verdict, acl)
        return
    for i, line in enumerate(_stdin_lines()):
        value = line.rstrip("\n")
        verdict = acl.evaluate(_request_for(value, field, i), sets, limiter)
        _emit(out, value, verdict, acl)


def _stdin_lines() -> TextIO:
    """stdin as UTF-8 text; undecodable bytes become U+FFFD instead of an error."""
    import io

    return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")


@command.command("ua-check")
def ua_check() -> None:
    """Read user agents (one per line); write bot or not and the matching pattern."""
    from stratus.solutions.edge.domain.crawler import UaMatcher

    matcher = UaMatcher()
    for line in _stdin_lines():
        ua = line.rstrip("\n")
        verdict = matcher.check(ua)
        sys.stdout.write(
            json.dumps({"user_agent": ua, "bot": verdict.bot, "pattern": verdict.pattern}) + "\n"
        )


@command.command()
@click.option("--origin", required=True, help="The dynamic origin URL (http:// or https://).")
@click.option(
    "--static",
    "static_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Directory served under /static/* (JWT required).",
)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=".stratus/edge",
    show_default=True,
    help="Access logs and pattern sets.",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option(
    "--http-port",
    type=int,
    default=None,
    help="With TLS: also listen here over HTTP and redirect to HTTPS.",
)
@click.option("--insecure-origin", is_flag=True, help="Do not verify the origin's certificate.")
def proxy(
    origin: str,
    static_dir: Path | None,
    port: int,
    host: str,
    home: Path,
    tls_cert: str | None,
    tls_key: str | None,
    http_port: int | None,
    insecure_origin: bool,
) -> None:
    """Run the edge proxy alone in front of ORIGIN (Ctrl-C to stop)."""
    import asyncio

    import uvicorn

    from stratus.solutions.edge.asgi import EdgeAsgi
    from stratus.solutions.edge.local import standalone_proxy

    if not origin.startswith(("http://", "https://")):
        raise click.UsageError("--origin must be an http:// or https:// URL")
    tls = bool(tls_cert and tls_key)
    edge, logs = standalone_proxy(
        origin,
        home,
        static_dir=static_dir,
        https_port=port if tls else None,
        verify_origin_tls=not insecure_origin,
    )
    app = EdgeAsgi(edge)
    configs = [
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
    ]
    if tls and http_port:
        configs.append(uvicorn.Config(app, host=host, port=http_port, log_level="warning"))
    click.echo(f"edge proxy on {'https' if tls else 'http'}://{host}:{port} -> {origin}")

    async def serve() -> None:
        await asyncio.gather(*(uvicorn.Server(c).serve() for c in configs))

    try:
        asyncio.run(serve())
    finally:
        logs.flush()
