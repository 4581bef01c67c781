"""Real TLS servers for the TLS tests: a local test CA (root, intermediate, leaves) made with `cryptography`,
Python `ssl` servers in threads, one nginx with one `server` per scenario, and hostile raw-socket servers
(silent, garbage). Everything listens on 127.0.0.1 ephemeral ports and is stopped by its owner."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HOST = "localhost"
ADDRESS = "127.0.0.1"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
# RFC 2409 Oakley group 2: a well-known 1024-bit MODP prime, for a weak-DHE server without a slow generation.
OAKLEY_1024 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


# --- the test CA --------------------------------------------------------------------------------------


@dataclass
class Credential:
    """A served certificate: `cert_file` holds the chain as served (leaf first), `key_file` its key."""

    cert_file: Path
    key_file: Path


@dataclass
class TlsPki:
    """Root CA file (the clients' trust) and one credential per scenario."""

    ca_file: Path
    creds: dict[str, Credential]
    dhparam_1024: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(
    subject: str,
    key: Any,
    issuer: tuple[x509.Name, Any] | None,
    *,
    ca: bool,
    days: tuple[float, float] = (-1, 60),
    names: tuple[str, ...] = (),
    aia: dict[str, str] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    issuer_name, issuer_key = issuer if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if aia:
        methods = {
            "ocsp": x509.oid.AuthorityInformationAccessOID.OCSP,
            "ca": x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
        }
        access = [
            x509.AccessDescription(methods[k], x509.UniformResourceIdentifier(v)) for k, v in aia.items()
        ]
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _der_int(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading zero keeps it positive
    return b"\x02" + _der_len(len(body)) + body


def _der_len(size: int) -> bytes:
    if size < 128:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _dhparam_pem(prime: int, generator: int) -> bytes:
    """PKCS#3 DHParameter (SEQUENCE of p, g) as PEM, the `ssl_dhparam`/`load_dh_params` format."""
    body = _der_int(prime) + _der_int(generator)
    der = b"\x30" + _der_len(len(body)) + body
    text = base64.encodebytes(der).decode().replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines) + "\n-----END DH PARAMETERS-----\n").encode()


def _sha1_leaf(folder: Path, key: Any, issuer: x509.Certificate, issuer_key: Any) -> x509.Certificate:
    """A leaf for localhost signed with SHA-1: `cryptography` refuses to, so the openssl command signs it."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(HOST)).sign(key, hashes.SHA256())
    work = folder / "sha1"
    work.mkdir(exist_ok=True)
    (work / "leaf.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (work / "ca.pem").write_bytes(_pem(issuer))
    (work / "ca.key").write_bytes(_key_pem(issuer_key))
    (work / "ext.cnf").write_text(
        f"subjectAltName=DNS:{HOST},IP:{ADDRESS}\nbasicConstraints=critical,CA:FALSE\n"
    )
    subprocess.run(
        ["openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-sha1", "-days", "60", "-extfile", "ext.cnf", "-out", "leaf.pem"],
        cwd=work, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return x509.load_pem_x509_certificate((work / "leaf.pem").read_bytes())


def make_test_pki(folder: Path) -> TlsPki:
    """Root -> intermediate -> leaves for localhost/127.0.0.1 (and the broken ones), written under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert("mcp-harden test root", root_key, None, ca=True, days=(-2, 3650))
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _cert(
        "mcp-harden test intermediate", inter_key, (root.subject, root_key), ca=True, days=(-2, 1800)
    )
    by_inter = (inter.subject, inter_key)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    self_key = ec.generate_private_key(ec.SECP256R1())
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    good_names = (HOST, ADDRESS)
    leaves: dict[str, tuple[Any, x509.Certificate, bool]] = {  # name: key, leaf, serve the intermediate
        "good": (ec_key, _cert(HOST, ec_key, by_inter, ca=False, names=good_names), True),
        "rsa": (rsa_key, _cert(HOST, rsa_key, by_inter, ca=False, names=good_names), True),
        "expired": (
            ec_key,
            _cert(HOST, ec_key, by_inter, ca=False, days=(-100, -10), names=good_names),
            True,
        ),
        "wronghost": (
            ec_key,
            _cert("other.example", ec_key, by_inter, ca=False, names=("other.example",)),
            True,
        ),
        "selfsigned": (self_key, _cert(HOST, self_key, None, ca=False, names=good_names), False),
        "nointermediate": (
            ec_key,
            _cert(
                HOST, ec_key, by_inter, ca=False, names=good_names, aia={"ca": "http://127.0.0.1:9/inter.der"}
            ),
            False,
        ),
        "ocsp": (
            ec_key,
            _cert(
                HOST, ec_key, by_inter, ca=False, names=good_names, aia={"ocsp": "http://127.0.0.1:9/ocsp"}
            ),
            True,
        ),
        "weakkey": (
            weak_key,
            _sha1_leaf(folder, weak_key, inter, inter_key),
            True,
        ),
        "longlived": (
            ec_key,
            _cert(HOST, ec_key, by_inter, ca=False, days=(-1, 500), names=good_names),
            True,
        ),
    }
    creds: dict[str, Credential] = {}
    for name, (key, leaf, with_inter) in leaves.items():
        cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
        cert_file.write_bytes(_pem(leaf) + (_pem(inter) if with_inter else b""))
        key_file.write_bytes(_key_pem(key))
        key_file.chmod(0o600)
        creds[name] = Credential(cert_file, key_file)
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(_pem(root))
    dhparam = folder / "dh1024.pem"
    dhparam.write_bytes(_dhparam_pem(OAKLEY_1024, 2))
    return TlsPki(ca_file=ca_file, creds=creds, dhparam_1024=dhparam)


# --- scenarios ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One server configuration, served the same way by Python's ssl and by nginx."""

    cred: str
    protocols: tuple[str, ...]  # nginx spelling: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3
    ciphers: str = INTERMEDIATE_CIPHERS
    dhparam: bool = False
    python_only: bool = False  # nginx loads certificates at security level 2 before its ssl_ciphers apply


SCENARIOS: dict[str, Scenario] = {
    "good13": Scenario("good", ("TLSv1.3",)),
    "intermediate": Scenario("good", ("TLSv1.2", "TLSv1.3")),
    "intermediate-rsa": Scenario("rsa", ("TLSv1.2", "TLSv1.3")),
    "tls10": Scenario(
        "good", ("TLSv1", "TLSv1.2"), "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"
    ),
    "weak": Scenario(
        "rsa",
        ("TLSv1.2",),
        "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:DHE-RSA-AES128-SHA:@SECLEVEL=0",
        dhparam=True,
    ),
    "expired": Scenario("expired", ("TLSv1.2", "TLSv1.3")),
    "wronghost": Scenario("wronghost", ("TLSv1.2", "TLSv1.3")),
    "selfsigned": Scenario("selfsigned", ("TLSv1.2", "TLSv1.3")),
    "nointermediate": Scenario("nointermediate", ("TLSv1.2", "TLSv1.3")),
    "longlived": Scenario("longlived", ("TLSv1.2", "TLSv1.3")),
    "ocsp": Scenario("ocsp", ("TLSv1.2", "TLSv1.3")),
    "weakkey": Scenario(
        "weakkey", ("TLSv1.2", "TLSv1.3"), "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", python_only=True
    ),
}
_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ADDRESS, 0))
    sock.listen(128)
    sock.settimeout(0.1)
    return sock


class ThreadServer:
    """Accepts on 127.0.0.1 in a thread and hands every connection to `handle` in its own thread."""

    def __init__(self, handle: Callable[[socket.socket, threading.Event], None]) -> None:
        self.handle = handle
        self.stopping = threading.Event()
        self.sock = _listen()
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(Exception), conn:
            self.handle(conn, self.stopping)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


def python_tls_server(scenario: Scenario, pki: TlsPki) -> ThreadServer:
    """A Python `ssl` server for `scenario`: handshakes, answers one HTTP 200, closes."""
    cred = pki.creds[scenario.cred]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = [_VERSIONS[p] for p in scenario.protocols]
    with warnings.catch_warnings():  # a TLS 1.0 server is the point of the scenario
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = min(versions), max(versions)
    context.set_ciphers(scenario.ciphers)  # before the key: a level-0 scenario may serve RSA-1024
    context.load_cert_chain(cred.cert_file, cred.key_file)
    if scenario.dhparam:
        context.load_dh_params(str(pki.dhparam_1024))

    return answering_once(context)


def answering_once(context: ssl.SSLContext) -> ThreadServer:
    """A server that, per connection, handshakes with `context`, answers one HTTP 200 and closes."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(3)
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    return ThreadServer(handle)


def silent_server() -> ThreadServer:
    """Accepts and never answers (holds the connection until stopped)."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        stopping.wait(30)

    return ThreadServer(handle)


def garbage_server() -> ThreadServer:
    """Answers anything with random bytes that are not a TLS record."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(3)
        conn.recv(4096)
        conn.sendall(b"\x00\xffnot tls " + os.urandom(300))
        stopping.wait(5)

    return ThreadServer(handle)


# --- nginx --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return sock.getsockname()[1]


class NginxServers:
    """One nginx (daemon off, its own prefix) with one TLS `server` per scenario; `ports[name]`."""

    def __init__(self, pki: TlsPki, prefix: Path, scenarios: dict[str, Scenario] = SCENARIOS) -> None:
        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        scenarios = {name: sc for name, sc in scenarios.items() if not sc.python_only}
        self.ports = {name: _free_port() for name in scenarios}
        servers = []
        for name, sc in scenarios.items():
            cred = pki.creds[sc.cred]
            dh_line = f"ssl_dhparam {pki.dhparam_1024};" if sc.dhparam else ""
            servers.append(
                f"""
    server {{
        listen {ADDRESS}:{self.ports[name]} ssl;
        server_name {HOST};
        ssl_certificate {cred.cert_file};
        ssl_certificate_key {cred.key_file};
        ssl_protocols {" ".join(sc.protocols)};
        ssl_ciphers {sc.ciphers};
        ssl_prefer_server_ciphers off;
        {dh_line}
        location / {{ return 200 "ok"; }}
    }}"""
            )
        user = "user root;" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {prefix}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(
            f"""{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    {temp}
    {"".join(servers)}
}}
"""
        )
        self.process = subprocess.Popen(
            [NGINX, "-c", str(self.conf), "-p", str(prefix), "-e", str(prefix / "logs" / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, seconds: float = 10.0) -> None:
        end = time.monotonic() + seconds
        pending = set(self.ports.values())
        while pending and time.monotonic() < end:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                log = (self.prefix / "logs" / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nginx exited {self.process.returncode}: {err} {log}")
            for port in list(pending):
                with contextlib.suppress(OSError), socket.create_connection((ADDRESS, port), timeout=0.2):
                    pending.discard(port)
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"nginx did not listen on {sorted(pending)} within {seconds} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()


def hello_only_server(preference: list[int], versions: set[int]) -> ThreadServer:
    """A minimal server written by hand that answers a ClientHello the way an old server would: a ServerHello
    with the best common version (from `versions`) and the first suite of `preference` the client offered,
    then ServerHelloDone; or an alert. It serves what this machine's OpenSSL no longer can (3DES, RC4, NULL,
    SSLv3) so the hand-built probes are tested against those answers. It never completes a handshake."""

    def alert(conn: socket.socket, description: int) -> None:
        conn.sendall(struct.pack("!BHHBB", 21, 0x0301, 2, 2, description))

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(3)
        data = b""
        while len(data) < 5 or len(data) < 5 + struct.unpack("!H", data[3:5])[0]:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        body = data[9:]  # record header (5) and handshake header (4)
        client_version = struct.unpack("!H", body[:2])[0]
        offset = 34 + 1 + body[34]
        size = struct.unpack("!H", body[offset : offset + 2])[0]
        offered = [struct.unpack("!H", body[i : i + 2])[0] for i in range(offset + 2, offset + 2 + size, 2)]
        offset += 2 + size
        offset += 1 + body[offset]  # compression methods
        if offset + 2 <= len(body):
            exts, pos = body[offset + 2 :], 0
            while pos + 4 <= len(exts):
                kind, length = struct.unpack("!HH", exts[pos : pos + 4])
                if kind == 0x002B:  # supported_versions: a TLS 1.3 hello, which this server does not speak
                    return alert(conn, 70)
                pos += 4 + length
        usable = [v for v in versions if v <= client_version]
        if not usable:
            return alert(conn, 70)
        suite = next((s for s in preference if s in offered), None)
        if suite is None:
            return alert(conn, 40)
        version = max(usable)
        hello = struct.pack("!H", version) + os.urandom(32) + b"\x00" + struct.pack("!HB", suite, 0)
        messages = b"\x02" + struct.pack("!I", len(hello))[1:] + hello + b"\x0e\x00\x00\x00"
        conn.sendall(struct.pack("!BHH", 22, version, len(messages)) + messages)
        stopping.wait(0.5)

    return ThreadServer(handle)


def drip_server() -> ThreadServer:
    """Answers with a plausible TLS record header, one byte every 0.3 s, forever (until stopped)."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(3)
        conn.recv(4096)
        for byte in b"\x16\x03\x03\x40\x00" + b"\x02" * 1000:
            if stopping.wait(0.3):
                return
            conn.sendall(bytes([byte]))

    return ThreadServer(handle)
