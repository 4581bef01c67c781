#!/bin/sh
# Install a release exactly as it was audited: verify first (verify.sh), then install only the signed lock's
# wheels, from the release's wheelhouse, with no index, no resolution and a hash per archive; then check that
# the environment holds exactly the locked set. The Dockerfile and the Kubernetes init container both run this.
#
#   REPOSITORY=owner/mcp-server RELEASE=release TARGET=/app/venv ./install.sh
set -eu

RELEASE="${RELEASE:-release}"
TARGET="${TARGET:?set TARGET=/path/to/venv (created when missing)}"
PYTHON="${PYTHON:-python3}"
export RELEASE PYTHON
HERE="$(cd "$(dirname "$0")" && pwd)"

# Verify and install from one private copy: a file swapped in the release folder after it was verified
# cannot reach the install.
PRIVATE="$(mktemp -d)"
trap 'rm -rf "$PRIVATE"' EXIT
cp -R "$RELEASE/." "$PRIVATE/"
RELEASE="$PRIVATE"
export RELEASE

[ -f "$RELEASE/requirements.lock.txt" ] && [ -d "$RELEASE/wheelhouse" ] || {
  echo "install.sh: refused: $RELEASE has no requirements.lock.txt and wheelhouse/ (release with --wheelhouse)" >&2
  exit 1
}
"$HERE/verify.sh"

[ -x "$TARGET/bin/python" ] || "$PYTHON" -m venv --without-pip "$TARGET"
# Only the wheelhouse: no index, no pip configuration file, no extra find-links from the environment.
env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
  "$PYTHON" -m pip --python "$TARGET/bin/python" install --quiet --disable-pip-version-check --no-cache-dir \
  --no-index --require-hashes --no-deps --only-binary :all: \
  --find-links "$RELEASE/wheelhouse" -r "$RELEASE/requirements.lock.txt"

# What got installed must be the lock's set, no more and no less.
"$TARGET/bin/python" -I - "$RELEASE/requirements.lock.txt" <<'PY'
import importlib.metadata, re, sys

canon = lambda name: re.sub(r"[-_.]+", "-", name).lower()
text = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
locked = {canon(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)}
installed = {canon(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
if installed != locked:
    extra = sorted(f"{n}=={v}" for n, v in installed.items() if locked.get(n) != v)
    lacking = sorted(f"{n}=={v}" for n, v in locked.items() if installed.get(n) != v)
    sys.exit(f"install.sh: refused: installed set differs from the lock: extra {extra}, missing {lacking}")
print(f"install.sh: installed exactly the {len(locked)} locked packages", file=sys.stderr)
PY
