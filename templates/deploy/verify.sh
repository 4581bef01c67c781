#!/bin/sh
# Gate a deployment on the release's signatures: exits non-zero unless every artifact in the release record is
# signed by the allowed workflow and carries the required attestations. Offline: it only needs the pinned root.
#
#   REPOSITORY=owner/mcp-server RELEASE=release/release.json ./verify.sh
set -eu

: "${REPOSITORY:?set REPOSITORY=owner/name (the repository whose release workflow signs)}"
RELEASE="${RELEASE:-release/release.json}"
WORKFLOW="${WORKFLOW:-.github/workflows/release.yml}"
REF="${REF:-refs/tags/v*}"
REQUIRE="${REQUIRE:-slsa-provenance sbom}"

set -- verify "$RELEASE" --repository "$REPOSITORY" --workflow "$WORKFLOW" --ref "$REF" --offline
if [ -n "${TRUSTED_ROOT:-}" ]; then
  set -- "$@" --trusted-root "$TRUSTED_ROOT"   # pin a root file; default: production's, shipped with sigstore
fi
for kind in $REQUIRE; do
  set -- "$@" --require-attestation "$kind"
done

# 0 verified; 1 a signature or attestation failed; 2 bad usage or policy; 3 could not check. Only 0 deploys.
exec mcp-harden "$@"
