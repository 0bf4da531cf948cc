"""The query code (查询码) a reporter gets with the case number: with both, and only with both, a
resident follows the case on /track and rates it.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), easy to read over the
phone; about 40 bits, so guessing is hopeless behind the public pages' rate limits. Only a salted,
slow hash is stored (``pbkdf2_sha256$iterations$salt$digest``): the code is shown once, when the
case is created, and cannot be read back. ``matches`` compares in constant time, and an unknown
number costs the same hash as a wrong code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
ITERATIONS = 2000
"""About 2 ms per hash: invisible beside a report, and a stolen hash still costs a brute force."""
_DUMMY = "pbkdf2_sha256$2000$00000000000000000000000000000000$" + "0" * 64
DEMO_SALT = "gridlink-demo-query-code"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str | None) -> str:
    """What a resident typed, as stored: upper case, without spaces or dashes (``ab2c-d3ef`` works)."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def hash_code(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", normalize(code).encode(), salt.encode(), ITERATIONS).hex()
    return f"pbkdf2_sha256${ITERATIONS}${salt}${digest}"


def matches(stored: str | None, given: str | None) -> bool:
    """Whether ``given`` is the code behind ``stored``; a missing hash costs the same work and fails."""
    try:
        _method, iterations, salt, digest = (stored or _DUMMY).split("$")
        rounds = int(iterations)
    except ValueError:
        _method, rounds, salt, digest = "", ITERATIONS, "0", "0"
    code = normalize(given)[:64]
    found = hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), rounds).hex()
    return hmac.compare_digest(found, digest) and stored is not None and bool(code)


def demo_code(number: str) -> str:
    """The code of a demo case, derived from its number, so ``gridlink init --demo`` can print it
    again on every run (demo data only: a real case's code is random)."""
    seed = hashlib.sha256(f"{DEMO_SALT}:{number}".encode()).digest()
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in seed[:LENGTH])
