#!/bin/sh
# Gate a deployment on the release: exits non-zero unless every file in the release record is signed by the
# allowed workflow and carries the required attestations, and unless the wheelhouse holds exactly the archives
# the signed lock pins. Offline: it needs only the release folder and the pinned root. Installs nothing.
#
#   REPOSITORY=owner/mcp-server RELEASE=release ./verify.sh      (RELEASE: the folder, or its release.json)
set -eu

: "${REPOSITORY:?set REPOSITORY=owner/name (the repository whose release workflow signs)}"
RELEASE="${RELEASE:-release}"
if [ -f "$RELEASE" ]; then RECORD="$RELEASE"; RELEASE="$(dirname "$RELEASE")"; else RECORD="$RELEASE/release.json"; fi
WORKFLOW="${WORKFLOW:-.github/workflows/release.yml}"
REF="${REF:-refs/tags/v*}"
REQUIRE="${REQUIRE:-slsa-provenance sbom tool-manifest}"
MCP_HARDEN="${MCP_HARDEN:-mcp-harden}"
PYTHON="${PYTHON:-python3}"

set -- verify --record "$RECORD" --repository "$REPOSITORY" --workflow "$WORKFLOW" --ref "$REF" --offline
if [ -n "${TRUSTED_ROOT:-}" ]; then
  set -- "$@" --trusted-root "$TRUSTED_ROOT"   # pin a root file; default: production's, shipped with sigstore
fi
for kind in $REQUIRE; do
  set -- "$@" --require-attestation "$kind"
done

# 0 verified; 1 a signature or attestation failed; 2 bad usage or policy; 3 could not check. Only 0 deploys.
# The record lists requirements.lock.txt, so a lock edited after signing fails here.
$MCP_HARDEN "$@" --format text || { echo "verify.sh: refused: the release record did not verify" >&2; exit 1; }

# The wheelhouse is bound by the signed lock: every file in it must be an archive the lock pins, byte for byte.
# (A release without a lock has only its signed files to verify; install.sh needs the lock and the wheelhouse.)
[ -f "$RELEASE/requirements.lock.txt" ] || [ -e "$RELEASE/wheelhouse" ] || exit 0
"$PYTHON" - "$RELEASE/requirements.lock.txt" "$RELEASE/wheelhouse" <<'PY'
import hashlib, pathlib, re, sys

lock, wheelhouse = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
canon = lambda name: re.sub(r"[-_.]+", "-", name).lower()
pins = {}
for line in lock.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})", line)
        if not m:
            sys.exit(f"verify.sh: refused: {lock}: not a line of a hash lock: {line[:80]!r}")
        pins[canon(m[1])] = (m[2], m[3])
if not wheelhouse.is_dir():
    sys.exit(f"verify.sh: refused: no wheelhouse at {wheelhouse} (release with --wheelhouse)")
seen = set()
for path in sorted(wheelhouse.iterdir()):
    if path.is_symlink() or not path.is_file() or not path.name.endswith(".whl"):
        sys.exit(f"verify.sh: refused: {path} is not a wheel; the wheelhouse holds only the locked wheels")
    parts = path.name[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        sys.exit(f"verify.sh: refused: {path} is not a wheel's file name")
    name, version = parts[:2]
    pin = pins.get(canon(name))
    if pin is None or pin[0] != version:
        sys.exit(f"verify.sh: refused: {path} is not in the signed lock (an unlisted distribution)")
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    digest = sha.hexdigest()
    if digest != pin[1]:
        sys.exit(f"verify.sh: refused: {path} has sha256 {digest}; the signed lock pins {canon(name)}=={version} to {pin[1]}")
    if canon(name) in seen:
        sys.exit(f"verify.sh: refused: two wheels of {canon(name)} in {wheelhouse}")
    seen.add(canon(name))
missing = sorted(set(pins) - seen)
if missing:
    sys.exit(f"verify.sh: refused: the wheelhouse lacks locked packages: {', '.join(missing[:5])}")
print(f"verify.sh: verified: {len(pins)} locked wheels, each signed through the lock", file=sys.stderr)
PY
