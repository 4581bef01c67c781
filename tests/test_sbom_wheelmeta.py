"""The wheel METADATA fallback reads only the archive the report names by sha256, bounded, and refuses
anything else (another file, a FIFO, two METADATA files, an oversized one) by reading nothing."""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sbom import wheelmeta
from pipeline.sbom.wheelmeta import fill_license_fields, lacks_pep639, local_archive, wheel_license_fields

METADATA = (
    "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: Apache-2.0 OR MIT\n"
    "License-File: LICENSE\nLicense-File: NOTICE\nClassifier: Programming Language :: Python\n\nlong text\n"
)


def _wheel(path: Path, members: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fields_from_the_matching_wheel(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    sha = _wheel(wheel, {"demo/__init__.py": "", "demo-1.0.dist-info/METADATA": METADATA})
    assert wheel_license_fields(wheel, sha) == {
        "license_expression": "Apache-2.0 OR MIT",
        "license_file": ["LICENSE", "NOTICE"],
        "classifier": ["Programming Language :: Python"],
    }
    meta = {"name": "demo", "version": "1.0", "metadata_version": "2.4", "license": "see file"}
    assert fill_license_fields(meta, wheel.as_uri(), sha)
    assert meta["license_expression"] == "Apache-2.0 OR MIT" and meta["license"] == "see file"


@pytest.mark.parametrize(
    "members",
    [
        {"a-1.dist-info/METADATA": METADATA, "b-1.dist-info/METADATA": METADATA},  # which one?
        {"deep/a-1.dist-info/METADATA": METADATA},  # not at the top
        {"a-1.dist-info/METADATA": "License-Expression: MIT\n" + "x" * (wheelmeta.MAX_METADATA_BYTES + 1)},
    ],
)
def test_ambiguous_or_oversized_metadata_is_not_read(tmp_path, members):
    wheel = tmp_path / "a-1-py3-none-any.whl"
    assert wheel_license_fields(wheel, _wheel(wheel, members)) is None


def test_another_archive_at_the_url_is_not_read(tmp_path):
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    _wheel(wheel, {"demo-1.0.dist-info/METADATA": METADATA})
    meta = {"name": "demo", "version": "1.0", "metadata_version": "2.4"}
    assert not fill_license_fields(meta, wheel.as_uri(), "ab" * 32)
    assert "license_expression" not in meta


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "trap-1.0-py3-none-any.whl"
    os.mkfifo(fifo)
    done = threading.Event()
    result: list[object] = []
    thread = threading.Thread(
        target=lambda: (result.append(wheel_license_fields(fifo, "0" * 64)), done.set())
    )
    thread.daemon = True
    thread.start()
    assert done.wait(5), "reading a FIFO blocked"
    assert result == [None]


def test_only_local_file_urls():
    assert local_archive("file:///srv/wheels/a%20b-1-py3-none-any.whl") == Path(
        "/srv/wheels/a b-1-py3-none-any.whl"
    )
    assert local_archive("file://localhost/w/a.whl") == Path("/w/a.whl")
    for url in ("https://files.example/a.whl", "file://otherhost/w/a.whl", "", "ftp://x/a.whl"):
        assert local_archive(url) is None


@settings(max_examples=100, deadline=None)
@given(
    version=st.sampled_from(["1.0", "2.1", "2.3", "2.4", "2.5", "junk"]),
    expression=st.sampled_from([None, "MIT"]),
    license_=st.sampled_from([None, "", "BSD"]),
    classifier=st.sampled_from([[], ["License :: OSI Approved :: MIT License"], ["Topic :: Utilities"]]),
    drops=st.booleans(),
)
def test_when_the_wheel_is_consulted(version, expression, license_, classifier, drops):
    meta = {"metadata_version": version, "license_expression": expression, "license": license_}
    meta["classifier"] = classifier
    pep639_possible = version in ("2.4", "2.5")
    has_any = bool(license_) or bool(classifier and classifier[0].startswith("License ::"))
    expected = pep639_possible and not expression and (drops or not has_any)
    assert lacks_pep639(meta, pip_drops=drops) is expected
