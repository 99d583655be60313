"""Delivery on AWS: the API gives CloudFront signed cookies/URLs for recordings the caller may
watch; the adapter is chosen by target; the site bundle; the template's distribution and its
CloudFront Functions (run in node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import cfnlint.decode
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stratus.solutions.streaming import bootstrap, service, sitebundle
from stratus.solutions.streaming.cli import command as streaming_command
from stratus.solutions.streaming.entrypoints import api
from stratus.solutions.streaming.mediasigning import (
    PRIVATE_KEY_SECRET,
    CloudFrontMediaSigner,
    cf_base64_decode,
    policy_json,
)
from stratus.solutions.streaming.service import Caller, Ports

HOST = "d111111abcdef8.cloudfront.net"
TEMPLATE = (Path(__file__).resolve().parents[3]
            / "src/stratus/solutions/streaming/infra/template.yaml")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def aws_ports(ports: Ports, key: rsa.RSAPrivateKey) -> Ports:
    """The unit ports with the AWS media signer (its private key in the SecretStore)."""
    ports.secrets.put(PRIVATE_KEY_SECRET, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    return replace(ports, media=CloudFrontMediaSigner(ports.secrets, "K2JCJMDEHXQW5F"))


def _ready_recording(ports: Ports, owner: Caller) -> str:
    paired = service.pair_device(ports, service.new_pairing(ports, owner)[0])
    stream_id = service.start_publish(ports, paired.stream_key).stream.stream_id
    service.stop_stream(ports, owner, stream_id)
    service.recording_ready(ports, stream_id, 12.5, f"recordings/{stream_id}/thumbnail.jpg")
    return stream_id


def _get(ports: Ports, resource: str, params: dict[str, str], token: str | None = None,
         host: str | None = HOST) -> dict[str, Any]:
    headers = {"x-stratus-site-host": host} if host else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    event = {"httpMethod": "GET", "resource": resource, "pathParameters": params,
             "headers": headers}
    return api.dispatch(event, api.CHANNEL_ROUTES, ports)


def _verify(key: rsa.RSAPrivateKey, message: bytes, signature: str) -> None:
    key.public_key().verify(cf_base64_decode(signature), message, padding.PKCS1v15(),
                            hashes.SHA1())


def test_the_owner_gets_cookies_for_a_private_recording_and_a_visitor_gets_404(
    aws_ports: Ports, owner: Caller, key: rsa.RSAPrivateKey
) -> None:
    rid = _ready_recording(aws_ports, owner)
    _, token = service.login(aws_ports, "owner@example.com", "correct horse 1")

    refused = _get(aws_ports, "/recordings/{recordingId}", {"recordingId": rid})
    assert refused["statusCode"] == 404
    assert "multiValueHeaders" not in refused

    answer = _get(aws_ports, "/recordings/{recordingId}", {"recordingId": rid}, token)
    assert answer["statusCode"] == 200
    set_cookies = answer["multiValueHeaders"]["Set-Cookie"]
    cookies = dict(c.split("; ", 1)[0].split("=", 1) for c in set_cookies)
    assert all(f"Path=/media/recordings/{rid}/;" in c for c in set_cookies)
    policy = cf_base64_decode(cookies["CloudFront-Policy"])
    statement = json.loads(policy)["Statement"][0]
    assert statement["Resource"] == f"https://{HOST}/media/recordings/{rid}/*"
    _verify(key, policy, cookies["CloudFront-Signature"])
    body = json.loads(answer["body"])
    assert body["media_expires_at"] == statement["Condition"]["DateLessThan"]["AWS:EpochTime"]
    assert body["playlist_url"] == f"/media/recordings/{rid}/index.m3u8"


def test_a_published_recording_is_granted_to_anyone_with_a_signed_thumbnail(
    aws_ports: Ports, owner: Caller, key: rsa.RSAPrivateKey
) -> None:
    from stratus.solutions.streaming.domain.streams import Visibility

    rid = _ready_recording(aws_ports, owner)
    service.set_recording_visibility(aws_ports, owner, rid, Visibility.PUBLIC)
    answer = _get(aws_ports, "/recordings/{recordingId}", {"recordingId": rid})
    assert len(answer["multiValueHeaders"]["Set-Cookie"]) == 3

    home = json.loads(_get(aws_ports, "/home", {})["body"])
    [card] = home["recordings"]
    path, _, query = card["thumbnail_url"].partition("?")
    assert path == f"/media/recordings/{rid}/thumbnail.jpg"
    params = {k: v[0] for k, v in parse_qs(query).items()}
    assert params["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    _verify(key, policy_json(f"https://{HOST}{path}", int(params["Expires"])),
            params["Signature"])


def test_without_a_known_host_nothing_is_signed(aws_ports: Ports, owner: Caller) -> None:
    """Called on execute-api directly (not through the distribution): no cookies to give."""
    from stratus.solutions.streaming.domain.streams import Visibility

    rid = _ready_recording(aws_ports, owner)
    service.set_recording_visibility(aws_ports, owner, rid, Visibility.PUBLIC)
    answer = _get(aws_ports, "/recordings/{recordingId}", {"recordingId": rid}, host=None)
    assert answer["statusCode"] == 200
    assert "multiValueHeaders" not in answer


def test_locally_recordings_are_plain_site_paths(ports: Ports, owner: Caller) -> None:
    from stratus.solutions.streaming.domain.streams import Visibility

    rid = _ready_recording(ports, owner)
    service.set_recording_visibility(ports, owner, rid, Visibility.PUBLIC)
    answer = _get(ports, "/recordings/{recordingId}", {"recordingId": rid})
    assert "multiValueHeaders" not in answer
    assert json.loads(answer["body"])["thumbnail_url"] == f"/media/recordings/{rid}/thumbnail.jpg"


# ---- the adapter by target -------------------------------------------------------------------


def test_the_media_signer_is_cloudfront_on_aws_and_none_locally(
    ports: Ports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATUS_TARGET", "local")
    assert bootstrap.media_signer(ports.secrets) is None
    monkeypatch.setenv("STRATUS_TARGET", "aws")
    monkeypatch.delenv("CLOUDFRONT_KEY_PAIR_ID", raising=False)
    with pytest.raises(RuntimeError, match="CLOUDFRONT_KEY_PAIR_ID"):
        bootstrap.media_signer(ports.secrets)
    monkeypatch.setenv("CLOUDFRONT_KEY_PAIR_ID", "K-TEST-BOOTSTRAP")
    signer = bootstrap.media_signer(ports.secrets)
    assert isinstance(signer, CloudFrontMediaSigner)
    assert signer.key_pair_id == "K-TEST-BOOTSTRAP"
    assert bootstrap.media_signer(ports.secrets) is signer  # the key is read once


# ---- the site bundle -------------------------------------------------------------------------


def _fake_hls(tmp_path: Path) -> Path:
    hls = tmp_path / "hls.min.js"
    hls.write_text("/* hls.js */", encoding="utf-8")
    return hls


def test_site_bundle_writes_pages_hls_and_the_aws_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitebundle, "HLS_JS", _fake_hls(tmp_path))
    out = tmp_path / "bundle"
    result = CliRunner().invoke(streaming_command, [
        "site-bundle", str(out), "--api-base", "/api",
        "--chat-url", "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"])
    assert result.exit_code == 0, result.output
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["admin.html", "app.js", "channel.html", "config.json", "index.html",
                     "owner.html", "style.css", "vendor/hls.min.js"]
    assert (out / "app.js").read_bytes() == (sitebundle.WEB_DIR / "app.js").read_bytes()
    assert (out / "vendor" / "hls.min.js").read_text(encoding="utf-8") == "/* hls.js */"
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config == {"target": "aws", "api": "/api", "site": "",
                      "chat_url": "wss://abc123.execute-api.eu-west-1.amazonaws.com/prod",
                      "ingest_url": "", "hls_js": True, "signed_media": True}
    assert "aws s3 sync" in result.output


def test_site_bundle_without_npm_packages_says_run_dev_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitebundle, "HLS_JS", tmp_path / "missing" / "hls.min.js")
    out = tmp_path / "bundle"
    result = CliRunner().invoke(streaming_command, ["site-bundle", str(out)])
    assert result.exit_code == 1
    assert "run ./dev setup" in result.output
    assert not out.exists()


@pytest.mark.parametrize(("args", "reason"), [
    (["--api-base", "api"], "--api-base 'api'"),
    (["--api-base", "http://x.example/api"], "https URL"),
    (["--chat-url", "https://chat.example"], "--chat-url"),
])
def test_site_bundle_refuses_bad_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], reason: str
) -> None:
    monkeypatch.setattr(sitebundle, "HLS_JS", _fake_hls(tmp_path))
    result = CliRunner().invoke(streaming_command, ["site-bundle", str(tmp_path / "b"), *args])
    assert result.exit_code == 1
    assert reason in result.output


# ---- the template's distribution -------------------------------------------------------------


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    template, matches = cfnlint.decode.decode(str(TEMPLATE))
    assert not matches
    found: dict[str, Any] = template["Resources"]
    return found


def test_one_distribution_serves_site_api_and_media_with_signed_recordings(
    resources: dict[str, Any]
) -> None:
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert set(origins) == {"site", "recordings", "api"}
    assert origins["site"]["OriginAccessControlId"] == origins["recordings"][
        "OriginAccessControlId"]
    assert origins["api"]["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert list(behaviours) == ["/api/*", "/media/covers/*", "/media/*"]  # first match wins
    assert behaviours["/api/*"]["TargetOriginId"] == "api"
    assert len(behaviours["/api/*"]["AllowedMethods"]) == 7
    assert "TrustedKeyGroups" not in behaviours["/media/covers/*"]
    assert behaviours["/media/*"]["TrustedKeyGroups"] == [{"Ref": "MediaKeyGroup"}]
    key = resources["MediaSigningPublicKey"]["Properties"]["PublicKeyConfig"]
    assert key["EncodedKey"] == {"Ref": "MediaPublicKeyPem"}
    grants = resources["RecordingsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [r["Fn::Sub"] for r in grants[0]["Resource"]] == [
        "${RecordingsBucket.Arn}/covers/*", "${RecordingsBucket.Arn}/recordings/*",
        "${RecordingsBucket.Arn}/ivs/*"]


def _run_function(code: str, uri: str, host: str = HOST) -> dict[str, Any]:
    """The CloudFront Function's handler on a viewer-request event, in node."""
    event = {"version": "1.0", "context": {"eventType": "viewer-request"},
             "viewer": {"ip": "198.51.100.1"},
             "request": {"method": "GET", "uri": uri, "querystring": {}, "cookies": {},
                         "headers": {"host": {"value": host}}}}
    script = code + f"\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));\n"
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True,
                          timeout=30)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_api_function_strips_api_and_passes_the_viewer_host(
    resources: dict[str, Any]
) -> None:
    code = resources["SiteApiPathFunction"]["Properties"]["FunctionCode"]
    request = _run_function(code, "/api/recordings/abc")
    assert request["uri"] == "/recordings/abc"
    assert request["headers"]["x-stratus-site-host"] == {"value": HOST}
    assert _run_function(code, "/api/")["uri"] == "/"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(("uri", "origin_uri"), [
    ("/media/covers/c1/abc", "/covers/c1/abc"),
    ("/media/recordings/r1/index.m3u8", "/recordings/r1/index.m3u8"),
    ("/media/ivs/v1/1/ch/2020/6/23/20/12/rec/media/hls/master.m3u8",
     "/ivs/v1/1/ch/2020/6/23/20/12/rec/media/hls/master.m3u8"),
    ("/media/uploads/r1/source.upload", None),
    ("/media/recordings/../uploads/r1/source.upload", None),
    ("/media/events/x.json", None),
])
def test_the_media_function_serves_covers_and_recordings_only(
    resources: dict[str, Any], uri: str, origin_uri: str | None
) -> None:
    code = resources["SiteMediaPathFunction"]["Properties"]["FunctionCode"]
    answer = _run_function(code, uri)
    if origin_uri is None:
        assert answer["statusCode"] == 404
    else:
        assert answer["uri"] == origin_uri
