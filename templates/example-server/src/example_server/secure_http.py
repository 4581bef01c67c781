"""HTTP mode, secure by default: the reference deployment to copy.

* Every request needs a bearer token: a JWT from your authorization server, checked here against its JWKS
  (signature, `iss`, `exp`, and `aud` = this server's own resource URL: tokens for other resources are
  refused), with the scopes this server requires (403 insufficient_scope otherwise).
* RFC 9728 protected resource metadata (served by the mcp SDK) names the authorization server.
* Host and Origin are checked against an allowlist (DNS rebinding); by default the resource URL's own.
* TLS when a certificate is given, with HSTS; the bind address is loopback unless you say otherwise.

Configured from the environment, so no secret is on a command line; a missing setting stops the server
with one line naming it (there is no unauthenticated HTTP mode):

    MCP_RESOURCE_URL     this server's canonical URL, e.g. https://notes.example.com/mcp (the token audience)
    MCP_AUTH_ISSUER      the authorization server's issuer URL
    MCP_AUTH_JWKS_URL    its JWKS (https), or MCP_AUTH_JWKS_FILE: a JWKS file (no network at start)
    MCP_AUTH_CA_FILE     optional: CA certificates to reach the JWKS URL (a private CA)
    MCP_REQUIRED_SCOPES  optional: space-separated, default "mcp"
    MCP_ALLOWED_HOSTS    optional: comma-separated Host values, default the resource URL's host[:port]
    MCP_ALLOWED_ORIGINS  optional: comma-separated origins, default the resource URL's origin
    MCP_TLS_CERT, MCP_TLS_KEY   optional: PEM certificate chain and key; serve HTTPS (strongly advised)

PyJWT with its crypto extra comes with the mcp SDK (which requires it for its own OAuth client).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings

ALGORITHMS = ["ES256", "ES384", "RS256", "PS256", "EdDSA"]  # asymmetric only: never "none" or HMAC
HSTS = b"max-age=63072000; includeSubDomains"
MAX_JWKS_BYTES = 256 * 1024


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class HttpConfig:
    resource_url: str
    issuer: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    ca_file: str | None = None
    scopes: list[str] = field(default_factory=lambda: ["mcp"])
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    tls_cert: str | None = None
    tls_key: str | None = None


def _list(value: str | None, sep: str = ",") -> list[str]:
    return [v.strip() for v in (value or "").split(sep) if v.strip()]


def config_from_env(env: Mapping[str, str]) -> HttpConfig:
    """Read and check the settings; every problem is a `ConfigError` naming the variable."""
    resource = env.get("MCP_RESOURCE_URL", "").strip()
    issuer = env.get("MCP_AUTH_ISSUER", "").strip()
    if not resource:
        raise ConfigError("MCP_RESOURCE_URL is not set (this server's canonical URL, the token audience)")
    if not issuer:
        raise ConfigError("MCP_AUTH_ISSUER is not set (the authorization server's issuer URL)")
    parts = urlsplit(resource)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"MCP_RESOURCE_URL {resource!r} is not an http(s) URL")
    if urlsplit(issuer).scheme != "https" and urlsplit(issuer).hostname not in (
        "127.0.0.1",
        "localhost",
        "::1",
    ):
        raise ConfigError(f"MCP_AUTH_ISSUER {issuer!r} is not https")
    jwks_url = env.get("MCP_AUTH_JWKS_URL", "").strip() or None
    jwks_file = env.get("MCP_AUTH_JWKS_FILE", "").strip() or None
    if bool(jwks_url) == bool(jwks_file):
        raise ConfigError("set exactly one of MCP_AUTH_JWKS_URL and MCP_AUTH_JWKS_FILE")
    if jwks_url and urlsplit(jwks_url).scheme != "https":
        raise ConfigError(f"MCP_AUTH_JWKS_URL {jwks_url!r} is not https")
    cert, key = env.get("MCP_TLS_CERT") or None, env.get("MCP_TLS_KEY") or None
    if bool(cert) != bool(key):
        raise ConfigError("set both MCP_TLS_CERT and MCP_TLS_KEY, or neither")
    if parts.scheme == "https" and not cert:
        # Behind a TLS-terminating proxy that is fine; say so rather than guess.
        print(
            "note: MCP_RESOURCE_URL is https but no MCP_TLS_CERT: TLS must be terminated in front",
            file=sys.stderr,
        )
    authority = parts.netloc.rsplit("@", 1)[-1]
    origin = f"{parts.scheme}://{authority}"
    return HttpConfig(
        resource_url=resource,
        issuer=issuer,
        jwks_url=jwks_url,
        jwks_file=jwks_file,
        ca_file=env.get("MCP_AUTH_CA_FILE") or None,
        scopes=_list(env.get("MCP_REQUIRED_SCOPES", "mcp"), " ") or ["mcp"],
        allowed_hosts=_list(env.get("MCP_ALLOWED_HOSTS")) or [authority],
        allowed_origins=_list(env.get("MCP_ALLOWED_ORIGINS")) or [origin],
        tls_cert=cert,
        tls_key=key,
    )


class JwtVerifier:
    """Checks bearer JWTs: signature by a key of the issuer's JWKS, `iss`, `exp`, `aud` = this resource."""

    def __init__(self, config: HttpConfig) -> None:
        import jwt

        self._jwt = jwt
        self.config = config
        if config.jwks_file:
            with open(config.jwks_file, "rb") as handle:
                raw = handle.read(MAX_JWKS_BYTES + 1)
            if len(raw) > MAX_JWKS_BYTES:
                raise ConfigError(
                    f"MCP_AUTH_JWKS_FILE {config.jwks_file}: larger than {MAX_JWKS_BYTES} bytes"
                )
            try:
                self._keys: jwt.PyJWKSet | None = jwt.PyJWKSet.from_dict(json.loads(raw))
            except (ValueError, jwt.PyJWKSetError) as exc:
                raise ConfigError(f"MCP_AUTH_JWKS_FILE {config.jwks_file}: not a JWKS ({exc})") from None
            self._client = None
        else:
            context = ssl.create_default_context(cafile=config.ca_file)
            self._client = jwt.PyJWKClient(config.jwks_url or "", timeout=10, ssl_context=context)
            self._keys = None

    def _key(self, token: str) -> Any:
        kid = self._jwt.get_unverified_header(token).get("kid")
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._keys is not None
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise self._jwt.InvalidTokenError("no key for this kid")

    def check(self, token: str) -> AccessToken | None:
        jwt = self._jwt
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=ALGORITHMS,
                audience=self.config.resource_url,
                issuer=self.config.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,
            )
        except (jwt.PyJWTError, ValueError):
            return None
        scope = claims.get("scope")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims["sub"]),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=int(claims["exp"]),
            resource=self.config.resource_url,  # `aud` was checked to name it
            subject=str(claims["sub"]),
        )

    async def verify_token(self, token: str) -> AccessToken | None:
        import anyio

        return await anyio.to_thread.run_sync(self.check, token)  # the JWKS fetch blocks


# Mozilla's intermediate TLS 1.2 suites (TLS 1.3 suites are all fine and not configurable here).
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)


class Guard:
    """In front of everything: a foreign Host gets 421 and a foreign Origin 403 before authentication runs
    (DNS rebinding), Bearer challenges name the scopes needed, and HTTPS answers carry HSTS."""

    def __init__(self, app: Any, config: HttpConfig) -> None:
        self.app = app
        self.hosts = {h.lower() for h in config.allowed_hosts}
        self.origins = {o.lower().rstrip("/") for o in config.allowed_origins}
        self.scope = " ".join(config.scopes).encode()
        self.hsts = bool(config.tls_cert)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get(b"host", "").lower() not in self.hosts:
            await self._refuse(send, 421, b"misdirected request")
            return
        origin = headers.get(b"origin")
        if origin is not None and origin.lower().rstrip("/") not in self.origins:
            await self._refuse(send, 403, b"origin not allowed")
            return

        async def send_with(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out = []
                for name, value in message.get("headers", []):
                    if (
                        name.lower() == b"www-authenticate"
                        and value.lower().startswith(b"bearer")
                        and (b"scope=" not in value)
                    ):
                        value = value + b', scope="' + self.scope + b'"'
                    out.append((name, value))
                if self.hsts:
                    out.append((b"strict-transport-security", HSTS))
                message["headers"] = out
            await send(message)

        await self.app(scope, receive, send_with)

    async def _refuse(self, send: Any, status: int, text: bytes) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
        if self.hsts:
            headers.append((b"strict-transport-security", HSTS))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": text})


def build_app(config: HttpConfig, *, host: str = "127.0.0.1") -> Any:
    """The ASGI app: the notes server with bearer auth, RFC 9728 metadata and the Host/Origin allowlist."""
    from example_server.server import build_server

    server = build_server(
        token_verifier=JwtVerifier(config),
        auth=AuthSettings(
            issuer_url=config.issuer,
            resource_server_url=config.resource_url,
            required_scopes=config.scopes,
            validate_token_resource=True,
        ),
    )
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=config.allowed_hosts,
        allowed_origins=config.allowed_origins,
    )
    app = server.streamable_http_app(
        streamable_http_path=urlsplit(config.resource_url).path or "/mcp",
        host=host,
        transport_security=security,
    )
    return Guard(app, config)


def uvicorn_options(config: HttpConfig) -> dict[str, Any]:
    """TLS settings for uvicorn: the certificate, and Mozilla's intermediate suites for TLS 1.2."""
    if not config.tls_cert:
        return {}
    return {"ssl_certfile": config.tls_cert, "ssl_keyfile": config.tls_key, "ssl_ciphers": TLS12_CIPHERS}


def serve(*, host: str = "127.0.0.1", port: int = 8000, env: Mapping[str, str] | None = None) -> None:
    import uvicorn

    try:
        config = config_from_env(os.environ if env is None else env)
        app = build_app(config, host=host)
    except (ConfigError, OSError) as exc:
        raise SystemExit(f"example-notes-mcp: {exc}") from None
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        print(f"note: listening on {host}, not loopback: put TLS and a firewall in front", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options(config))
