"""A token issuer of the sandbox's kind for the endpoint self-test: an ES256 key, RFC 8414 metadata and a
JWKS served over HTTPS on 127.0.0.1, and tokens minted for any subject, audience, scope and expiry."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec


@dataclass
class TokenIssuer:
    issuer: str
    key: ec.EllipticCurvePrivateKey
    kid: str = "mcp-harden-selftest"

    def jwks(self) -> dict[str, Any]:
        import jwt

        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def metadata(self) -> dict[str, Any]:
        base = self.issuer.rstrip("/")
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": True,
            "scopes_supported": ["mcp"],
        }

    def mint(self, subject: str, audience: str, scope: str, *, lifetime: int = 600) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "scope": scope,
            "iat": now - 5,
            "exp": now + lifetime,
            "client_id": "mcp-harden-selftest",
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def metadata(_request: Any) -> JSONResponse:
            return JSONResponse(self.metadata(), headers={"Strict-Transport-Security": "max-age=63072000"})

        async def jwks(_request: Any) -> JSONResponse:
            return JSONResponse(self.jwks())

        return Starlette(
            routes=[Route("/.well-known/oauth-authorization-server", metadata), Route("/jwks", jwks)]
        )


def new_issuer(url: str) -> TokenIssuer:
    return TokenIssuer(url, ec.generate_private_key(ec.SECP256R1()))
