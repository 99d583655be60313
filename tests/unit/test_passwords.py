"""The platform's password hashing (scrypt), used by the local user pool."""

from __future__ import annotations

from stratus.platform.passwords import dummy_hash, hash_password, verify_password


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    first = hash_password("correct horse 1", b"a" * 16)
    second = hash_password("correct horse 1", b"b" * 16)

    assert first.startswith("scrypt$16384$8$1$")
    assert first != second
    assert "correct horse" not in first
    assert verify_password("correct horse 1", first)
    assert not verify_password("correct horse 2", first)


def test_a_fresh_salt_is_drawn_for_each_hash() -> None:
    assert hash_password("same") != hash_password("same")


def test_anything_but_a_hash_never_verifies() -> None:
    good = hash_password("pw", b"s" * 16)
    _scheme, n, r, p, salt, digest = good.split("$")

    for stored in ("not-a-hash", "", f"bcrypt${n}${r}${p}${salt}${digest}",
                   f"scrypt${2**30}${r}${p}${salt}${digest}", f"scrypt${n}${r}${p}$!!${digest}"):
        assert not verify_password("pw", stored), stored
    assert not verify_password("stratus-no-such-user-x", dummy_hash())
