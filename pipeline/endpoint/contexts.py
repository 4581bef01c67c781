"""The TLS client contexts of one check-endpoint run, built once and shared by every endpoint.

A context that trusts the system store costs about 25 ms of CPU to build (it parses every root); each endpoint
used to build three (the HTTP client's and the two verifying handshakes'), more than the rest of its TLS work
on loopback. An `ssl.SSLContext` may be shared between threads; a socket made from it holds its own state,
and no session is cached or resumed across connections (Python resumes only when handed a session).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator

_NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME: the trust-only verification ignores dates
_WARNINGS_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence "ssl.TLSVersion.TLSv1 is deprecated": offering it is the point of a probing context."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


class Contexts:
    """Lazily built, cached contexts for one trust setting (`ca_file`, or the system store when None).
    A failure to build one (an unusable CA file) is raised to each caller and not cached."""

    def __init__(self, ca_file: str | None = None) -> None:
        self.ca_file = ca_file
        self._lock = threading.Lock()
        self._built: dict[object, ssl.SSLContext] = {}

    def _get(self, key: object, build: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        with self._lock:  # one build per key, even when many endpoints start at once
            context = self._built.get(key)
            if context is None:
                context = self._built[key] = build()
            return context

    def http(self) -> ssl.SSLContext:
        """Verifying (as a normal client: the trust store and the host name), ALPN http/1.1."""

        def build() -> ssl.SSLContext:
            context = ssl.create_default_context(cafile=self.ca_file)
            context.set_alpn_protocols(["http/1.1"])
            return context

        return self._get("http", build)

    def verifying(self, trust_only: bool) -> ssl.SSLContext:
        """As a normal client would verify, or for trust only (dates, key strength and the name ignored)."""

        def build() -> ssl.SSLContext:
            context = ssl.create_default_context(cafile=self.ca_file)
            if trust_only:
                context.check_hostname = False
                context.verify_flags |= _NO_CHECK_TIME
                context.set_ciphers("ALL:@SECLEVEL=0")
                with quiet():
                    context.minimum_version = ssl.TLSVersion.TLSv1
            return context

        return self._get(("verify", trust_only), build)

    def probing(self, version: int) -> ssl.SSLContext:
        """Pinned to one protocol version, security level 0, nothing verified. ValueError or ssl.SSLError
        when this Python/OpenSSL cannot offer the version."""

        def build() -> ssl.SSLContext:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
            with quiet():
                context.minimum_version = context.maximum_version = ssl.TLSVersion(version)
            return context

        return self._get(("probe", version), build)
