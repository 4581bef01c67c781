"""Hand-built TLS ClientHellos and a bounded reader for the server's first flight.

The probe offers what the local OpenSSL cannot (SSLv3, 3DES, RC4, NULL, export, anonymous suites) and reads the
answer: the ServerHello (version and chosen suite), the Certificate, CertificateStatus (OCSP stapling) and
ServerKeyExchange (DH group size, ECDHE curve) of TLS <= 1.2, or an alert. No handshake is ever completed.
Every socket operation is bounded by a timeout and an absolute deadline; at most `MAX_READ` bytes are read.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass, field

SSL3, TLS10, TLS11, TLS12, TLS13 = 0x0300, 0x0301, 0x0302, 0x0303, 0x0304
# As people write them ("TLS 1.0", not OpenSSL's "TLSv1"): these names appear in findings and summaries.
VERSION_NAMES = {SSL3: "SSL 3.0", TLS10: "TLS 1.0", TLS11: "TLS 1.1", TLS12: "TLS 1.2", TLS13: "TLS 1.3"}
MAX_READ = 256 * 1024
_HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# TLS <= 1.2 suites worth seeing, by IANA number. The names are IANA's and drive the classification.
SUITES: dict[int, str] = {
    0x0001: "TLS_RSA_WITH_NULL_MD5",
    0x0002: "TLS_RSA_WITH_NULL_SHA",
    0x003B: "TLS_RSA_WITH_NULL_SHA256",
    0x0003: "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0006: "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
    0x0008: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0011: "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA",
    0x0012: "TLS_DHE_DSS_WITH_DES_CBC_SHA",
    0x0013: "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
    0x0014: "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0015: "TLS_DHE_RSA_WITH_DES_CBC_SHA",
    0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0017: "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5",
    0x0018: "TLS_DH_anon_WITH_RC4_128_MD5",
    0x0019: "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA",
    0x001A: "TLS_DH_anon_WITH_DES_CBC_SHA",
    0x001B: "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0034: "TLS_DH_anon_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x003A: "TLS_DH_anon_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    0x0041: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0045: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x006A: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x006C: "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
    0x006D: "TLS_DH_anon_WITH_AES_256_CBC_SHA256",
    0x0084: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0088: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0096: "TLS_RSA_WITH_SEED_CBC_SHA",
    0x009A: "TLS_DHE_RSA_WITH_SEED_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00A2: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
    0x00A3: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    0x00A6: "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
    0x00A7: "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
    0xC001: "TLS_ECDH_ECDSA_WITH_NULL_SHA",
    0xC002: "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
    0xC003: "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC004: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    0xC005: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    0xC006: "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
    0xC007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC00B: "TLS_ECDH_RSA_WITH_NULL_SHA",
    0xC00C: "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    0xC00D: "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC00E: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    0xC00F: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    0xC010: "TLS_ECDHE_RSA_WITH_NULL_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC015: "TLS_ECDH_anon_WITH_NULL_SHA",
    0xC016: "TLS_ECDH_anon_WITH_RC4_128_SHA",
    0xC017: "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA",
    0xC018: "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
    0xC019: "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC050: "TLS_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC051: "TLS_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC052: "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC053: "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC05C: "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256",
    0xC05D: "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384",
    0xC060: "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC061: "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC09C: "TLS_RSA_WITH_AES_128_CCM",
    0xC09D: "TLS_RSA_WITH_AES_256_CCM",
    0xC09E: "TLS_DHE_RSA_WITH_AES_128_CCM",
    0xC09F: "TLS_DHE_RSA_WITH_AES_256_CCM",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    0xC0AE: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
    0xC0AF: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
TLS13_SUITES: dict[int, str] = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
}
GROUP_NAMES = {
    0x0017: "secp256r1",
    0x0018: "secp384r1",
    0x0019: "secp521r1",
    0x001D: "x25519",
    0x001E: "x448",
}
_GROUPS = [0x001D, 0x0017, 0x0018, 0x0019, 0x001E]
_SIGALGS = [
    0x0403,
    0x0503,
    0x0603,
    0x0804,
    0x0805,
    0x0806,
    0x0807,
    0x0808,
    0x0401,
    0x0501,
    0x0601,
    0x0203,
    0x0201,
]
_RENEGOTIATION_SCSV = 0x00FF


class ProbeError(Exception):
    """The server could not be reached or did not answer like a TLS server (one line)."""


@dataclass
class ServerReply:
    """What the server's first flight said. `version`/`suite` are None when it refused (alert or close)."""

    version: int | None = None
    suite: int | None = None
    alert: int | None = None  # alert description number, when the answer was an alert
    closed: bool = False  # the server closed the connection without a ServerHello
    hello_retry: bool = False
    certificates: list[bytes] = field(default_factory=list)
    ocsp_response: bytes | None = None
    dh_bits: int | None = None
    ecdh_group: int | None = None

    @property
    def accepted(self) -> bool:
        return self.suite is not None


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _vec16(items: list[int]) -> bytes:
    return struct.pack("!H", 2 * len(items)) + b"".join(struct.pack("!H", i) for i in items)


def client_hello(version: int, suites: list[int], host: str | None, *, status_request: bool = False) -> bytes:
    """One record holding a ClientHello for `version` (SSLv3 ... TLS 1.3) offering exactly `suites`."""
    exts = b""
    if host and not _is_ip(host):
        name = host.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts += _ext(0x0000, struct.pack("!H", len(entry)) + entry)
    offered = list(suites)
    if version == SSL3:
        offered.append(_RENEGOTIATION_SCSV)  # SSLv3 servers may choke on extensions: none but SNI
        exts = b""
    else:
        exts += _ext(0x000A, _vec16(_GROUPS))
        exts += _ext(0x000B, b"\x01\x00")  # ec_point_formats: uncompressed
        exts += _ext(0x000D, _vec16(_SIGALGS))
        exts += _ext(0xFF01, b"\x00")  # renegotiation_info, empty
        if status_request:
            exts += _ext(0x0005, b"\x01\x00\x00\x00\x00")  # OCSP, no responder ids, no extensions
    legacy = version
    if version == TLS13:
        legacy = TLS12
        exts += _ext(0x002B, b"\x02\x03\x04")  # supported_versions: TLS 1.3 only
        share = struct.pack("!HH", 0x001D, 32) + os.urandom(32)
        exts += _ext(0x0033, struct.pack("!H", len(share)) + share)
    body = struct.pack("!H", legacy) + os.urandom(32) + b"\x00"  # no session id
    body += _vec16(offered) + b"\x01\x00"  # null compression only
    if exts:
        body += struct.pack("!H", len(exts)) + exts
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    record_version = SSL3 if version == SSL3 else TLS10
    return struct.pack("!BHH", 22, record_version, len(handshake)) + handshake


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def connect(address: str, port: int, timeout: float, deadline: float | None) -> socket.socket:
    """A TCP connection within `timeout` and before `deadline` (ProbeError otherwise)."""
    try:
        return socket.create_connection((address, port), timeout=remaining(timeout, deadline))
    except ConnectionRefusedError:
        raise ProbeError("connection refused") from None
    except TimeoutError:
        raise ProbeError("connection timed out") from None
    except OSError as exc:
        raise ProbeError(f"cannot connect: {exc.strerror or exc}") from None


def remaining(timeout: float, deadline: float | None) -> float:
    """`timeout`, shortened to what is left before `deadline` (ProbeError once it has passed)."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProbeError("out of time (the check's deadline passed)")
    return min(timeout, left)


def probe(
    address: str,
    port: int,
    host: str | None,
    version: int,
    suites: list[int],
    *,
    timeout: float,
    deadline: float | None = None,
    status_request: bool = False,
) -> ServerReply:
    """Send one ClientHello and read the answer. ProbeError for no answer, a timeout, or not-TLS bytes."""
    try:
        message = client_hello(version, suites, host, status_request=status_request)
    except (UnicodeError, ValueError, struct.error) as exc:
        raise ProbeError(f"cannot build a ClientHello for this host name: {exc}") from None
    sock = connect(address, port, timeout, deadline)
    try:
        sock.sendall(message)
        return _read_flight(sock, timeout, deadline)
    except OSError as exc:
        if isinstance(exc, TimeoutError):
            raise ProbeError("no answer to the ClientHello (timed out)") from None
        if isinstance(exc, ConnectionResetError):
            return ServerReply(closed=True)
        raise ProbeError(f"connection failed: {exc.strerror or exc}") from None
    finally:
        sock.close()


class _Reader:
    """Reads whole TLS records from a socket under a total byte cap, a timeout per read and a deadline."""

    def __init__(self, sock: socket.socket, timeout: float, deadline: float | None) -> None:
        self.sock, self.timeout, self.deadline = sock, timeout, deadline
        self.buffer = b""
        self.total = 0
        self.started = time.monotonic()

    def _fill(self, size: int) -> bool:
        while len(self.buffer) < size:
            # the whole flight must arrive within `timeout`: a trickling server cannot stretch it
            left = self.timeout - (time.monotonic() - self.started)
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining(left, self.deadline))
            chunk = self.sock.recv(16384)
            if not chunk:
                return False
            self.total += len(chunk)
            if self.total > MAX_READ:
                raise ProbeError(f"the server sent more than {MAX_READ} bytes before ServerHelloDone")
            self.buffer += chunk
        return True

    def record(self) -> tuple[int, bytes] | None:
        if not self._fill(5):
            if self.buffer:
                raise ProbeError("the answer is not TLS (truncated record)")
            return None
        kind, major, length = self.buffer[0], self.buffer[1], struct.unpack("!H", self.buffer[3:5])[0]
        if kind not in (20, 21, 22, 23) or major != 3 or length > 18432:
            raise ProbeError(f"the answer is not TLS (first bytes {self.buffer[:5].hex()})")
        if not self._fill(5 + length):
            raise ProbeError("the answer is not TLS (truncated record)")
        body, self.buffer = self.buffer[5 : 5 + length], self.buffer[5 + length :]
        return kind, body


def _read_flight(sock: socket.socket, timeout: float, deadline: float | None) -> ServerReply:
    reader = _Reader(sock, timeout, deadline)
    reply = ServerReply()
    handshake = b""
    while True:
        record = reader.record()
        if record is None:
            reply.closed = reply.version is None
            return reply
        kind, body = record
        if kind == 21:
            if len(body) < 2:
                raise ProbeError("the answer is not TLS (short alert)")
            if reply.version is None:
                reply.alert = body[1]
            return reply
        if kind != 22:  # change_cipher_spec (TLS 1.3 middlebox mode) or encrypted data: the flight is over
            if reply.version is None:
                raise ProbeError("the answer is not TLS (no ServerHello)")
            return reply
        handshake += body
        while len(handshake) >= 4:
            length = struct.unpack("!I", b"\x00" + handshake[1:4])[0]
            if len(handshake) < 4 + length:
                break
            kind_hs, message, handshake = handshake[0], handshake[4 : 4 + length], handshake[4 + length :]
            if reply.version is None and kind_hs != 2:
                raise ProbeError("the answer is not TLS (no ServerHello first)")
            if _handle(kind_hs, message, reply):
                return reply


def _handle(kind: int, message: bytes, reply: ServerReply) -> bool:
    """Fold one handshake message into `reply`; True when the flight is over (nothing more to learn)."""
    try:
        if kind == 2:
            _server_hello(message, reply)
            return reply.version == TLS13  # everything after the ServerHello is encrypted
        if kind == 11:
            total = struct.unpack("!I", b"\x00" + message[:3])[0]
            data, offset = message[3 : 3 + total], 0
            while offset + 3 <= len(data):
                size = struct.unpack("!I", b"\x00" + data[offset : offset + 3])[0]
                reply.certificates.append(data[offset + 3 : offset + 3 + size])
                offset += 3 + size
        elif kind == 22 and message[:1] == b"\x01":
            size = struct.unpack("!I", b"\x00" + message[1:4])[0]
            reply.ocsp_response = message[4 : 4 + size] or None
        elif kind == 12:
            _server_key_exchange(message, reply)
        elif kind == 14:  # ServerHelloDone
            return True
    except (struct.error, IndexError):
        raise ProbeError("the answer is not TLS (malformed handshake message)") from None
    return False


def _server_hello(message: bytes, reply: ServerReply) -> None:
    if len(message) < 38:
        raise ProbeError("the answer is not TLS (short ServerHello)")
    version = struct.unpack("!H", message[:2])[0]
    random = message[2:34]
    sid_len = message[34]
    offset = 35 + sid_len
    suite = struct.unpack("!H", message[offset : offset + 2])[0]
    offset += 3  # suite and compression
    if offset + 2 <= len(message):
        ext_total = struct.unpack("!H", message[offset : offset + 2])[0]
        exts, pos = message[offset + 2 : offset + 2 + ext_total], 0
        while pos + 4 <= len(exts):
            kind, size = struct.unpack("!HH", exts[pos : pos + 4])
            if kind == 0x002B and size == 2:
                version = struct.unpack("!H", exts[pos + 4 : pos + 6])[0]
            pos += 4 + size
    if version not in VERSION_NAMES:
        raise ProbeError(f"the answer is not TLS (ServerHello version {version:#06x})")
    reply.version, reply.suite = version, suite
    reply.hello_retry = random == _HRR_RANDOM


def _server_key_exchange(message: bytes, reply: ServerReply) -> None:
    name = SUITES.get(reply.suite or -1, "")
    kx = name[4 : name.find("_WITH_")] if "_WITH_" in name else ""
    if kx.startswith("DHE") or kx.startswith("DH_anon"):
        p_len = struct.unpack("!H", message[:2])[0]
        prime = message[2 : 2 + p_len].lstrip(b"\x00")
        reply.dh_bits = int.from_bytes(prime, "big").bit_length() if prime else 0
    elif (kx.startswith("ECDHE") or kx.startswith("ECDH_anon")) and message[:1] == b"\x03":
        reply.ecdh_group = struct.unpack("!H", message[1:3])[0]
