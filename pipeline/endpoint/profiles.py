"""Mozilla Server Side TLS 6.0 profiles (intermediate, modern) as data, and the suite classification."""

from __future__ import annotations

from dataclasses import dataclass

MOZILLA_URL = "https://wiki.mozilla.org/Security/Server_Side_TLS"
GENERATOR_URL = "https://ssl-config.mozilla.org/"


@dataclass(frozen=True)
class Profile:
    """One Mozilla configuration: what it allows, and the nginx lines that give it."""

    name: str
    protocols: frozenset[str]
    tls12_suites: frozenset[int]  # IANA numbers
    tls13_suites: frozenset[int]
    key_types: frozenset[str]  # "rsa", "ecdsa"
    rsa_min_bits: int
    ecdsa_curves: frozenset[str]
    max_lifespan_days: int
    nginx: str

    def reference(self) -> str:
        return f"{MOZILLA_URL}#{self.name.capitalize()}_compatibility"


_AEAD_ECDHE = frozenset({0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8})
_TLS13 = frozenset({0x1301, 0x1302, 0x1303})
_INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)

PROFILES: dict[str, Profile] = {
    "intermediate": Profile(
        name="intermediate",
        protocols=frozenset({"TLSv1.2", "TLSv1.3"}),
        tls12_suites=_AEAD_ECDHE,
        tls13_suites=_TLS13,
        key_types=frozenset({"rsa", "ecdsa"}),
        rsa_min_bits=2048,
        ecdsa_curves=frozenset({"secp256r1", "secp384r1"}),
        max_lifespan_days=366,
        nginx=(
            f"ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers {_INTERMEDIATE_CIPHERS}; ssl_prefer_server_ciphers off;"
        ),
    ),
    "modern": Profile(
        name="modern",
        protocols=frozenset({"TLSv1.3"}),
        tls12_suites=frozenset(),
        tls13_suites=_TLS13,
        key_types=frozenset({"ecdsa"}),
        rsa_min_bits=2048,
        ecdsa_curves=frozenset({"secp256r1", "secp384r1"}),
        max_lifespan_days=90,
        nginx="ssl_protocols TLSv1.3; ssl_prefer_server_ciphers off;",
    ),
}


def classify(name: str) -> set[str]:
    """The classes of one TLS <= 1.2 suite from its IANA name: insecure (NULL, anonymous, export, RC4, DES),
    3des, static (no forward secrecy), cbc, dhe, ecdhe, aead."""
    kx, _, bulk = name[4:].partition("_WITH_")
    out: set[str] = set()
    if bulk.startswith("NULL") or "anon" in kx or "EXPORT" in kx or "RC4" in bulk or bulk.startswith("DES"):
        out.add("insecure")
    if "3DES" in bulk:
        out.add("3des")
    if kx in ("RSA", "ECDH_RSA", "ECDH_ECDSA"):
        out.add("static")
    if "_CBC" in bulk and "3DES" not in bulk and not bulk.startswith("DES"):
        out.add("cbc")
    if kx.startswith("DHE") or kx.startswith("DH_anon"):
        out.add("dhe")
    if kx.startswith("ECDHE"):
        out.add("ecdhe")
    if "GCM" in bulk or "CCM" in bulk or "CHACHA20" in bulk:
        out.add("aead")
    return out
