"""asyncio's late-reaping warning is the one asyncio message the stdio transport silences."""

from __future__ import annotations

import logging

import pytest

from pipeline.manifest.transport import LATE_REAP_WARNING, quiet_late_reaping


def test_only_the_late_reaping_warning_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    quiet_late_reaping()
    quiet_late_reaping()  # idempotent: one filter, not two
    asyncio_logger = logging.getLogger("asyncio")
    assert sum(1 for f in asyncio_logger.filters if getattr(f, "__name__", "") == "_not_late_reap") == 1
    asyncio_logger.warning(LATE_REAP_WARNING, object(), 12345)
    asyncio_logger.warning("Unknown child process pid %d, will report returncode 255", 12345)
    seen = [record.getMessage() for record in caplog.records if record.name == "asyncio"]
    assert seen == ["Unknown child process pid 12345, will report returncode 255"]
