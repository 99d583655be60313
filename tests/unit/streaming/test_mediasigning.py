"""CloudFront signed cookies and URLs: CloudFront's format, verified with the public key."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from stratus.platform.adapters.local.secrets import FileSecretStore
from stratus.solutions.streaming.mediasigning import (
    PRIVATE_KEY_SECRET,
    CloudFrontMediaSigner,
    CloudFrontSigner,
    cf_base64,
    cf_base64_decode,
    folder_of,
    policy_json,
    site_host,
)

HOST = "d111111abcdef8.cloudfront.net"
NOW = 1_700_000_000


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def verify(key: rsa.RSAPrivateKey, message: bytes, signature: str) -> None:
    """Raises InvalidSignature unless ``signature`` is CloudFront's RSA-SHA1 of ``message``."""
    key.public_key().verify(cf_base64_decode(signature), message, padding.PKCS1v15(),
                            hashes.SHA1())


def test_cloudfront_base64_replaces_the_three_characters_urls_cannot_carry() -> None:
    data = bytes([0xFB, 0xFF, 0xBF, 0xFE, 0x00])  # standard base64: "+/+//gA="
    encoded = cf_base64(data)
    assert encoded == "-~-~~gA_"
    assert not set("+=/") & set(encoded)
    assert cf_base64_decode(encoded) == data


def test_the_policy_is_compact_json_with_the_resource_and_the_expiry() -> None:
    policy = policy_json("https://h/media/recordings/r1/*", NOW)
    assert policy == (b'{"Statement":[{"Resource":"https://h/media/recordings/r1/*",'
                      b'"Condition":{"DateLessThan":{"AWS:EpochTime":1700000000}}}]}')
    assert not any(c in policy for c in b" \n\t")


def test_signed_cookies_carry_policy_signature_and_key_id(key: rsa.RSAPrivateKey) -> None:
    signer = CloudFrontSigner("K2JCJMDEHXQW5F", private_pem(key))
    resource = f"https://{HOST}/media/recordings/r1/*"
    cookies = signer.cookies(resource, NOW + 600)
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    assert cookies["CloudFront-Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    policy = cf_base64_decode(cookies["CloudFront-Policy"])
    statement = json.loads(policy)["Statement"][0]
    assert statement == {"Resource": resource,
                         "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 600}}}
    verify(key, policy, cookies["CloudFront-Signature"])
    with pytest.raises(InvalidSignature):
        verify(key, policy.replace(b"r1", b"r2"), cookies["CloudFront-Signature"])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature_as_cloudfront_would(
    key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """An independent check: `openssl dgst -sha1 -verify` with the public key PEM that goes
    into the template's MediaPublicKeyPem parameter."""
    cookies = CloudFrontSigner("K1", private_pem(key)).cookies(f"https://{HOST}/media/x/*", NOW)
    (tmp_path / "public.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (tmp_path / "policy.json").write_bytes(cf_base64_decode(cookies["CloudFront-Policy"]))
    (tmp_path / "sig.bin").write_bytes(cf_base64_decode(cookies["CloudFront-Signature"]))
    result = subprocess.run(
        ["openssl", "dgst", "-sha1", "-verify", "public.pem", "-signature", "sig.bin",
         "policy.json"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified OK" in result.stdout


def test_a_canned_signed_url_signs_the_url_it_carries(key: rsa.RSAPrivateKey) -> None:
    signer = CloudFrontSigner("K1", private_pem(key))
    url = f"https://{HOST}/media/recordings/r1/thumbnail.jpg"
    signed = signer.signed_url(url, NOW)
    base, _, query = signed.partition("?")
    assert base == url
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    assert params["Expires"] == str(NOW)
    assert params["Key-Pair-Id"] == "K1"
    # CloudFront rebuilds the canned policy from the URL without its signing parameters.
    verify(key, policy_json(url, NOW), params["Signature"])
    assert signer.signed_url(url + "?v=1", NOW).startswith(url + "?v=1&Expires=")


def test_keys_other_than_unencrypted_rsa_pem_are_refused() -> None:
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        CloudFrontSigner("K1", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    with pytest.raises(ValueError, match="not an RSA key"):
        CloudFrontSigner("K1", ec_pem)


def test_an_empty_key_pair_id_is_refused(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="key pair id"):
        CloudFrontSigner("", private_pem(key))


# ---- the API's signer: private key from the SecretStore --------------------------------------


@pytest.fixture
def secrets(tmp_path: Path) -> FileSecretStore:
    return FileSecretStore(tmp_path / "secrets.sqlite3", tmp_path / "secrets.key")


def test_a_recording_folder_grant_sets_three_cookies_for_that_folder_only(
    key: rsa.RSAPrivateKey, secrets: FileSecretStore
) -> None:
    secrets.put(PRIVATE_KEY_SECRET, private_pem(key))
    media = CloudFrontMediaSigner(secrets, "K1", ttl_s=3600, now=lambda: NOW)
    grant = media.grant_folder(HOST, "recordings/r1/index.m3u8")
    assert NOW + 3600 <= grant.expires_at <= NOW + 3600 + 900
    cookies = dict(c.split("; ", 1)[0].split("=", 1) for c in grant.set_cookies)
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    for header in grant.set_cookies:
        assert header.endswith("; Path=/media/recordings/r1/; Secure; HttpOnly; SameSite=Lax")
    policy = cf_base64_decode(cookies["CloudFront-Policy"])
    assert json.loads(policy)["Statement"][0]["Resource"] == (
        f"https://{HOST}/media/recordings/r1/*")
    verify(key, policy, cookies["CloudFront-Signature"])


def test_an_ivs_recording_is_granted_the_folder_of_its_playlist(
    key: rsa.RSAPrivateKey, secrets: FileSecretStore
) -> None:
    secrets.put(PRIVATE_KEY_SECRET, private_pem(key))
    media = CloudFrontMediaSigner(secrets, "K1", now=lambda: NOW)
    prefix = "ivs/v1/123456789012/AsXego4U6tnj/2020/6/23/20/12/j8Z9O91ndcVs"
    grant = media.grant_folder(HOST, f"{prefix}/media/hls/master.m3u8")
    assert f"Path=/media/{prefix}/media/hls/;" in grant.set_cookies[0]


def test_an_object_url_is_site_relative_and_signed(
    key: rsa.RSAPrivateKey, secrets: FileSecretStore
) -> None:
    secrets.put(PRIVATE_KEY_SECRET, private_pem(key))
    media = CloudFrontMediaSigner(secrets, "K1", now=lambda: NOW)
    url = media.object_url(HOST, "recordings/r1/thumbnail.jpg")
    path, _, query = url.partition("?")
    assert path == "/media/recordings/r1/thumbnail.jpg"
    params = {k: v[0] for k, v in parse_qs(query).items()}
    verify(key, policy_json(f"https://{HOST}{path}", int(params["Expires"])),
           params["Signature"])
    # Rounded expiry: the same URL for a while, so a browser may cache the image.
    assert media.object_url(HOST, "recordings/r1/thumbnail.jpg") == url


def test_a_missing_private_key_names_the_secret(secrets: FileSecretStore) -> None:
    media = CloudFrontMediaSigner(secrets, "K1")
    with pytest.raises(RuntimeError, match="streaming/cloudfront-private-key"):
        media.grant_folder(HOST, "recordings/r1/index.m3u8")


def test_a_key_outside_a_folder_cannot_be_granted() -> None:
    assert folder_of("recordings/r1/index.m3u8") == "recordings/r1/"
    with pytest.raises(ValueError, match="inside a folder"):
        folder_of("index.m3u8")


def test_the_site_host_comes_from_the_distribution_then_from_site_url() -> None:
    assert site_host({"X-Stratus-Site-Host": HOST}, "https://other.example") == HOST
    assert site_host({}, "https://live.example.com/") == "live.example.com"
    assert site_host(None, "") is None
    # Anything but a host name is not signed for.
    assert site_host({"x-stratus-site-host": "evil.example/; Path=/"}, "") is None
    assert urlsplit(f"https://{site_host({}, 'https://h.example:8443')}").port == 8443
