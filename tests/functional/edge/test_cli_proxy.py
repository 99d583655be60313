"""`stratus edge proxy` as a real process: plain HTTP, then TLS with the HTTP→HTTPS redirect."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import free_port
from tests.functional.edge.test_proxy_http import origin_url  # noqa: F401 - a fixture
from tests.unit.edge.conftest import BROWSER

STRATUS = str(Path(sys.executable).parent / "stratus")


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        log = (tmp_path / f"proxy-{len(procs)}.log").open("w")
        proc = subprocess.Popen(
            [STRATUS, "edge", "proxy", "--home", str(tmp_path / "home"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(url: str, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(
                urllib.request.Request(url, headers={"User-Agent": BROWSER}),
                timeout=2,
                context=context,
            )
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def test_the_proxy_alone_over_http(run, origin_url, tmp_path):  # noqa: F811
    static = tmp_path / "site"
    static.mkdir()
    (static / "a.txt").write_text("hello")
    port = free_port()
    run("--origin", origin_url, "--static", str(static), "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/")
    with urllib.request.urlopen(
        urllib.request.Request(base + "/api/x", headers={"User-Agent": BROWSER})
    ) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(
            urllib.request.Request(base + "/api/x?q=%3Cscript%3E", headers={"User-Agent": BROWSER})
        )
    assert err.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(
            urllib.request.Request(base + "/static/a.txt", headers={"User-Agent": BROWSER})
        )
    assert err.value.code == 401


def test_tls_with_redirect_from_http_and_hsts(run, origin_url, tmp_path):  # noqa: F811
    cert, key = self_signed(tmp_path)
    https_port, http_port = free_port(), free_port()
    run(
        "--origin",
        origin_url,
        "--port",
        str(https_port),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--http-port",
        str(http_port),
    )
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    wait_for(f"https://127.0.0.1:{https_port}/", context)
    with urllib.request.urlopen(
        urllib.request.Request(
            f"https://127.0.0.1:{https_port}/api/x", headers={"User-Agent": BROWSER}
        ),
        context=context,
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.build_opener(NoRedirect).open(
            urllib.request.Request(
                f"http://127.0.0.1:{http_port}/api/x?a=1",
                headers={"User-Agent": BROWSER, "Host": "127.0.0.1"},
            )
        )
    assert err.value.code == 301
    assert err.value.headers["Location"] == f"https://127.0.0.1:{https_port}/api/x?a=1"
