"""Provenance the ecosystem ships: GitHub artifact attestations (DSSE, SLSA v1) and PEP 740 attestations of
every PyPI component of an SBOM, verified offline over sigstore-python."""

from pipeline.provenance import origin, server_json  # noqa: F401  (they declare rules: the catalog imports this package)
from pipeline.provenance.check import RULES, ProvenanceOptions, check_sbom
from pipeline.provenance.dsse import Digests, FileVerdict, Verdict, verify_attestation_file
from pipeline.provenance.identity import AttestationPolicy, Publisher, publisher_of

__all__ = [
    "RULES",
    "AttestationPolicy",
    "Digests",
    "FileVerdict",
    "ProvenanceOptions",
    "Publisher",
    "Verdict",
    "check_sbom",
    "publisher_of",
    "verify_attestation_file",
]
