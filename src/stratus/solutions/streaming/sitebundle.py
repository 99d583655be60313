"""The site for AWS: the pages, hls.js and an AWS ``config.json`` in one directory.

``stratus streaming site-bundle DIR`` writes it, ready for ``aws s3 sync DIR
s3://<SiteBucketName>``; the template's CloudFront distribution serves it at ``/`` next to the
API (``/api``) and the media (``/media``). Locally the mounted site (``site.py``) serves the
same files and builds its ``config.json`` from the running servers instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WEB_DIR = Path(__file__).resolve().parent / "web"
HLS_JS = WEB_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PAGE_SUFFIXES = (".html", ".js", ".css", ".svg", ".png", ".ico")
"""Files of ``web/`` that are the site (not ``package*.json``, never ``node_modules``)."""


class BundleError(Exception):
    """The bundle cannot be written (bad option, missing hls.js); the message says why."""


def aws_config(api_base: str, chat_url: str) -> dict[str, Any]:
    """``config.json`` for the pages on CloudFront: the API under ``api_base`` (``/api``: the
    same origin), media at ``/media/...`` of the same origin (``site`` is empty), recordings
    signed by CloudFront (``signed_media``: the pages fetch the recording first, which sets
    the cookies), the chat at ``chat_url``; no ingest URL (devices get IVS's at pairing)."""
    api = api_base.rstrip("/")
    if not api.startswith("/") and urlsplit(api).scheme != "https":
        raise BundleError(f"--api-base {api_base!r}: a path of the site (/api) or an https URL")
    if chat_url and urlsplit(chat_url).scheme not in ("wss", "ws"):
        raise BundleError(f"--chat-url {chat_url!r}: a wss:// URL (the ChatUrl output)")
    return {"target": "aws", "api": api, "site": "", "chat_url": chat_url, "ingest_url": "",
            "hls_js": True, "signed_media": True}


def pages(web_dir: Path = WEB_DIR) -> list[Path]:
    """The site's own files in ``web_dir``, sorted."""
    return sorted(f for f in web_dir.iterdir() if f.is_file() and f.suffix in PAGE_SUFFIXES)


def write_bundle(
    out: Path, config: dict[str, Any], *, web_dir: Path | None = None,
    hls_js: Path | None = None,
) -> list[Path]:
    """Write pages, ``vendor/hls.min.js`` and ``config.json`` into ``out``; the written
    files, relative to ``out``. Nothing is written when hls.js is missing."""
    web_dir = web_dir or WEB_DIR
    hls_js = hls_js or HLS_JS
    if not hls_js.is_file():
        raise BundleError(f"hls.js is not installed ({hls_js} is missing): run ./dev setup "
                          f"(or npm ci --prefix {web_dir})")
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} exists and is not a directory")
    found = pages(web_dir)
    if not any(f.name == "index.html" for f in found):
        raise BundleError(f"{web_dir}: no index.html")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for page in found:
        shutil.copyfile(page, out / page.name)
        written.append(Path(page.name))
    (out / "vendor").mkdir(exist_ok=True)
    shutil.copyfile(hls_js, out / "vendor" / "hls.min.js")
    written.append(Path("vendor") / "hls.min.js")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    written.append(Path("config.json"))
    return written
