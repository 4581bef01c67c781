"""`python -m pipeline.sign.sandbox FOLDER [PORT]`: the background server of `mcp-harden sandbox start`."""

import sys
from pathlib import Path

from pipeline.sign.sandbox.server import serve

serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
