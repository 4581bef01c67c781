"""`provenance.lock.json`: the publisher each package is expected to come from, reviewed like code.

    {"version": 1, "publishers": {"httpx": {"kind": "GitHub", "repository": "encode/httpx",
                                            "workflow": "publish.yml"}}}

Written on first use (no lock yet) and with `--update`; otherwise only read, so a new publisher for a pinned
package is a finding and every change of pin shows in code review as a diff of this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.fileio import read_bounded, write_atomic
from pipeline.provenance.identity import Publisher

LOCK_VERSION = 1


@dataclass
class Lock:
    path: Path
    publishers: dict[str, Publisher] = field(default_factory=dict)
    exists: bool = False

    @classmethod
    def load(cls, path: Path) -> Lock:
        if not path.exists():
            return cls(path)
        raw = read_bounded(path, what="provenance lock", limit=8 << 20)
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
                raise ValueError(f"not a version {LOCK_VERSION} lock")
            entries = data["publishers"]
            if not isinstance(entries, dict):
                raise ValueError("'publishers' is not a mapping")
            publishers = {str(name): Publisher.from_dict(value) for name, value in entries.items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"invalid provenance lock: {exc}", where=str(path)) from None
        return cls(path, publishers, True)

    def save(self) -> None:
        data = {
            "version": LOCK_VERSION,
            "publishers": {name: self.publishers[name].to_dict() for name in sorted(self.publishers)},
        }
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")
        self.exists = True
