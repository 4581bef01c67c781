"""The identity guard: a pattern that does not pin an owner/repository (GitHub Actions identities) or spell
out exact identities would accept anyone, and is a configuration error (exit 2), whatever else it says."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import Signer
from pipeline.errors import ConfigError
from pipeline.verify.policy import check_signers
from tests.conftest import SHARED as SHARED_VECTORS

GITHUB = "https://token.actions.githubusercontent.com"

OVER_BROAD = [
    r".*",
    r".+",
    r"https://.*",
    r"https://.+",
    r"https://github\.com/.*",
    r"https://github\.com/.+/.+",
    r"https://github\.com/acme/.*",
    r"https://github\.com/acme/mcp-server.*",  # also acme/mcp-server-evil
    r"https://github\.com/[^/]+/mcp-server/.*",
    r"https://github\.com/acme/[a-z-]+/.*",
    r"(https://github\.com/acme/mcp-server/.*|.*)",
    r"https://github\.com/(acme|.*)/mcp-server/.*",
    r".*@.*",
    r".*@example\.com",
    r"alice@.*",
    r"[a-z]+@example\.com",
    r"(?i).*",
    r"\S+",
    r"https://github\.com/acme/mcp-server(/.*)?",
]
PINNED = [
    r"https://github\.com/acme/mcp-server/.*",
    r"https://github\.com/acme/mcp-server/\.github/workflows/release\.yml@refs/tags/v.*",
    r"^https://github\.com/acme/mcp-server/.*$",
    r"(?i)https://github\.com/Acme/MCP-Server/.*",
    r"https://github\.com/(acme/a|acme/b)/.*",
    r"https://github\.com/acme/mcp-server/.github/workflows/release.yml@refs/heads/main",
    r"alice@example\.com",
    r"(alice|bob)@example\.com",
]


@pytest.mark.parametrize("pattern", OVER_BROAD)
def test_over_broad_pattern_is_refused(pattern: str) -> None:
    with pytest.raises(ConfigError, match="would accept anyone"):
        check_signers([Signer(issuer=GITHUB, identity_pattern=pattern)])


@pytest.mark.parametrize("pattern", PINNED)
def test_pinned_pattern_is_accepted(pattern: str) -> None:
    check_signers([Signer(issuer=GITHUB, identity_pattern=pattern)])


def test_a_repository_pins_what_the_pattern_leaves_open() -> None:
    check_signers([Signer(issuer=GITHUB, repository="acme/mcp-server", identity_pattern=r"https://.*")])


# Patterns built from pieces: literal text that may or may not reach a repository, and wildcards.
_LITERALS = [
    "https://",
    r"https://github\.com/",
    r"https://github\.com/acme/",
    r"https://github\.com/acme/mcp-server",
    r"https://github\.com/acme/mcp-server/",
    r"\.github/workflows/release\.yml",
    "@refs/tags/v",
    "@",
    r"example\.com",
    "alice",
    "/",
]
_WILD = [".*", ".+", "[^/]*", "[a-z-]+", r"\S*", "(.*)", "(a|.*)", ".?", "[^@]+", "(?:x|y)*"]
_PIECES = st.lists(st.sampled_from(_LITERALS) | st.sampled_from(_WILD), min_size=1, max_size=6).map("".join)
# Identities of people who are not acme/mcp-server: another owner, a look-alike repository, an e-mail.
_ATTACKERS = st.sampled_from(
    [
        "https://github.com/evil/x/",
        "https://github.com/acme/mcp-server-evil/",
        "https://github.com/acme/other/",
        "mallory@",
        "alice@evil.",
    ]
)
_TAILS = st.text(alphabet="abcdefgmosty./@-_19v", max_size=40)


@settings(max_examples=400, deadline=None)
@given(_PIECES, _ATTACKERS, _TAILS)
def test_no_accepted_pattern_admits_another_repository(pattern: str, attacker: str, tail: str) -> None:
    """Whatever the pattern, if the guard accepts it, no identity outside acme/mcp-server (or the exact
    identities it spells) matches it."""
    try:
        check_signers([Signer(issuer=GITHUB, identity_pattern=pattern)])
    except ConfigError:
        return
    compiled = re.compile(pattern)
    for identity in (attacker + tail, attacker + "alice" + tail, attacker + "example.com"):
        assert not compiled.fullmatch(identity), f"accepted {pattern!r} admits {identity!r}"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "",
            "https://",
            r"https://github\.com/",
            r"https://github\.com/acme/",
            r"https://github\.com/acme/mcp-server",
        ]
    ),
    st.sampled_from(_WILD),
    st.sampled_from(["", r"\.yml", "@refs/tags/v.*", "/.*", r"/\.github/.*"]),
)
def test_wildcard_before_the_repository_is_refused(prefix: str, wildcard: str, suffix: str) -> None:
    with pytest.raises(ConfigError, match="would accept anyone"):
        check_signers([Signer(issuer=GITHUB, identity_pattern=prefix + wildcard + suffix)])


REUSABLE = SHARED_VECTORS / "attestations" / "github" / "reusable-workflow-attestation.sigstore.json"


@pytest.mark.parametrize(
    ("workflow", "accepted"),
    [
        ("shared.yml", True),  # the caller's workflow, in malancas/attest-demo (the Build Config URI)
        (".github/workflows/shared.yml", True),
        ("attest.yml", False),  # the reusable workflow's path, which lives in another repository
        (".github/workflows/attest.yml", False),
    ],
)
def test_a_workflow_pin_means_the_source_repository_s_workflow(workflow: str, accepted: bool) -> None:
    """A real reusable-workflow certificate: `--repository R --workflow W` must not be satisfied by a W of
    the same name in the repository of the reusable workflow that signed."""
    from sigstore.errors import VerificationError
    from sigstore.models import Bundle

    from pipeline.verify.policy import AnySigner

    cert = Bundle.from_json(REUSABLE.read_bytes()).signing_certificate
    policy = AnySigner(
        [
            Signer(
                issuer="https://token.actions.githubusercontent.com",
                repository="malancas/attest-demo",
                workflow=workflow,
            )
        ]
    )
    if accepted:
        policy.verify(cert)
    else:
        with pytest.raises(VerificationError):
            policy.verify(cert)
