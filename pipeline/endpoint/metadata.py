"""Authorization metadata checks: RFC 9728 protected resource metadata, RFC 8414 authorization server
metadata (PKCE S256, HTTPS endpoints, RFC 9207 iss, Client ID Metadata Documents), offline_access."""

from __future__ import annotations

from typing import Any, NamedTuple

from pipeline.endpoint.http import parse_url
from pipeline.endpoint.mcp_base import (
    SPEC,
    McpBase,
    Probe,
    _bearer_params,
    _canonical,
    _json_object,
    _plain_severity,
    offline_access_offered,
)
from pipeline.endpoint.rules_mcp import AS_CIMD, AS_ISS, OFFLINE_ACCESS
from pipeline.errors import CheckError
from pipeline.findings import Severity
from pipeline.rules import Rule, declare

RULES: list[Rule] = [
    declare(
        "MH-MCP-PRM",
        name="mcp-protected-resource-metadata",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="Protected resource metadata is missing or wrong.",
        standard="https://www.rfc-editor.org/rfc/rfc9728",
        fix="Servers MUST publish RFC 9728 metadata naming this resource and at least one authorization server (A1).",
    ),
    declare(
        "MH-MCP-AS-HTTPS",
        name="mcp-authorization-server-https",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="An authorization server endpoint is not HTTPS.",
        standard=f"{SPEC}/basic/authorization",
        fix="All authorization server endpoints MUST be served over HTTPS (A7).",
    ),
    declare(
        "MH-MCP-AS-METADATA",
        name="mcp-authorization-server-metadata",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="Authorization server metadata is missing or does not advertise PKCE S256.",
        standard="https://www.rfc-editor.org/rfc/rfc8414",
        fix="RFC 8414 or OIDC discovery metadata with code_challenge_methods_supported containing S256 (A8).",
    ),
]


class MetadataChecks(McpBase):
    # --- metadata (A1, A7, A8) ----------------------------------------------------------------------

    def _check_metadata(self, first: Probe, auth_required: bool) -> None:
        if not auth_required:
            return
        params = _bearer_params(first.resp.header("www-authenticate") or "") or {}
        candidates: list[str] = []
        pointed = params.get("resource_metadata")
        if pointed:
            if self.fetchable(pointed):
                candidates.append(pointed)
            else:
                self.notes.append(
                    f"not fetched: resource_metadata {pointed[:120]} is on a host not given "
                    "(add it with --allow-host)"
                )
        path = self.target.path.split("?", 1)[0].rstrip("/")
        origin = self.target.origin
        for form in (
            f"{origin}/.well-known/oauth-protected-resource{path}",
            f"{origin}/.well-known/oauth-protected-resource",
        ):
            if form not in candidates:
                candidates.append(form)
        doc, where, tried = None, "", []
        for url in candidates:
            resp = self.client.request("GET", url, headers={"Accept": "application/json"})
            tried.append(f"GET {url} → {resp.status}")
            doc = _json_object(resp) if resp.status == 200 else None
            if doc is not None:
                where = url
                break
        rule = "MH-MCP-PRM"
        wanted = "200 JSON with resource = this endpoint and authorization_servers (A1, RFC 9728)"
        if doc is None:
            self._add(
                rule,
                Severity.MEDIUM,
                "No protected resource metadata found",
                f"sent: {'; '.join(tried)}; spec wants: {wanted}",
                "Serve RFC 9728 metadata at /.well-known/oauth-protected-resource{path}.",
            )
            return
        self.summary["protected_resource_metadata"] = where
        if pointed and where != pointed and pointed in candidates:
            self._add(
                rule,
                Severity.MEDIUM,
                "The resource_metadata URL in the 401 does not serve the metadata",
                f"sent: {'; '.join(tried)}; spec wants: {wanted}",
                "Point resource_metadata at the URL that serves the metadata.",
            )
        for judged in judge_protected_resource(doc, self.url):
            self._add_judged(judged, where)
        servers = doc.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
            return
        self.summary["authorization_servers"] = ", ".join(servers)
        for issuer in servers[:3]:
            self._check_authorization_server(issuer, where)

    def _check_authorization_server(self, issuer: str, prm_url: str) -> None:
        try:
            target = parse_url(issuer)
        except ValueError:
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"Authorization server {issuer[:120]!r} is not a URL",
                f"sent: GET {prm_url}; got: authorization_servers entry {issuer[:120]!r}",
                "List issuer URLs (https://…).",
            )
            return
        if target.scheme != "https":
            self._add(
                "MH-MCP-AS-HTTPS",
                _plain_severity(target.host),
                f"Authorization server {issuer} is not HTTPS",
                f"sent: GET {prm_url}; got: authorization_servers entry {issuer}; spec wants: https (A7)",
                "Serve the authorization server over HTTPS only.",
            )
        if not self.fetchable(issuer):
            self.notes.append(
                f"not fetched: authorization server {issuer[:120]} is on another host "
                "(add it with --allow-host to check its metadata)"
            )
            return
        path = target.path.split("?", 1)[0].rstrip("/")
        origin = target.origin
        forms = [
            f"{origin}/.well-known/oauth-authorization-server{path}",
            f"{origin}/.well-known/openid-configuration{path}",
        ]
        if path:
            forms.append(f"{origin}{path}/.well-known/openid-configuration")
        doc, where, tried = None, "", []
        for url in forms:
            try:
                resp = self.client.request("GET", url, headers={"Accept": "application/json"})
            except CheckError as exc:
                tried.append(f"GET {url} → {exc.message}")
                continue
            tried.append(f"GET {url} → {resp.status}")
            doc = _json_object(resp) if resp.status == 200 else None
            if doc is not None:
                where = url
                break
        if doc is None:
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"No authorization server metadata for {issuer}",
                f"sent: {'; '.join(tried)}; spec wants: RFC 8414 or OIDC discovery metadata (A8)",
                "Publish /.well-known/oauth-authorization-server (RFC 8414).",
            )
            return
        for judged in judge_authorization_server(doc, issuer, target.host):
            self._add_judged(judged, where)
        if target.scheme == "https" and target.origin != self.target.origin:
            self.auth_servers.append(target)

    def _add_judged(self, judged: Judged, where: str) -> None:
        """A judge's finding on the metadata document fetched from `where`."""
        self._add(
            judged.rule_id, judged.severity, judged.title, f"sent: GET {where}; {judged.detail}", judged.fix
        )


# --- the judges (pure: a metadata document in, what is wrong with it out) -------------------------------


class Judged(NamedTuple):
    rule_id: str
    severity: Severity
    title: str
    detail: str  # "got: …; spec wants: …"
    fix: str


def judge_protected_resource(doc: dict[str, Any], endpoint_url: str) -> list[Judged]:
    """RFC 9728 metadata of `endpoint_url`: its resource, at least one authorization server, no offline_access."""
    out: list[Judged] = []
    resource = doc.get("resource")
    if not isinstance(resource, str) or _canonical(resource) != _canonical(endpoint_url):
        out.append(
            Judged(
                "MH-MCP-PRM",
                Severity.MEDIUM,
                "The metadata's resource is not this endpoint",
                f"got: resource={resource!r}; spec wants: resource = {endpoint_url}",
                "Set resource to the endpoint's canonical URL (RFC 9728 §3.3: clients MUST check it).",
            )
        )
    scopes = doc.get("scopes_supported")
    if offline_access_offered(scopes):
        out.append(
            Judged(
                OFFLINE_ACCESS.id,
                Severity.LOW,
                "The protected resource offers the offline_access scope",
                f"got: scopes_supported={str(scopes)[:200]}; spec wants: no offline_access",
                "Drop offline_access from scopes_supported and from WWW-Authenticate scope.",
            )
        )
    servers = doc.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        out.append(
            Judged(
                "MH-MCP-PRM",
                Severity.MEDIUM,
                "The metadata names no authorization server",
                f"got: authorization_servers={servers!r}; spec wants: a list of issuer URLs (A1, RFC 9728)",
                "List at least one authorization server issuer URL.",
            )
        )
    return out


def judge_authorization_server(doc: dict[str, Any], issuer: str, host: str) -> list[Judged]:
    """RFC 8414 metadata of `issuer` (served from `host`): PKCE S256, its own issuer, HTTPS endpoints,
    RFC 9207 iss and Client ID Metadata Documents advertised."""
    out: list[Judged] = []
    methods = doc.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        out.append(
            Judged(
                "MH-MCP-AS-METADATA",
                Severity.HIGH,
                f"Authorization server {issuer} does not advertise PKCE S256",
                f"got: code_challenge_methods_supported={methods!r}; spec wants: a list containing S256 "
                "(A8: clients MUST refuse otherwise)",
                "Support PKCE with S256 and list it in code_challenge_methods_supported.",
            )
        )
    if doc.get("issuer") not in (issuer, issuer.rstrip("/")):
        out.append(
            Judged(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"The metadata's issuer is not {issuer}",
                f"got: issuer={doc.get('issuer')!r}; spec wants: {issuer} (RFC 8414 §3.3)",
                "Make issuer identical to the authorization server URL.",
            )
        )
    plain = sorted(
        f"{k}={v}"
        for k, v in doc.items()
        if k.endswith(("_endpoint", "_uri")) and isinstance(v, str) and v.lower().startswith("http://")
    )
    if plain:
        out.append(
            Judged(
                "MH-MCP-AS-HTTPS",
                _plain_severity(host),
                f"Authorization server {issuer} names plain-HTTP endpoints",
                f"got: {', '.join(plain)[:300]}; spec wants: https only (A7)",
                "Serve every authorization server endpoint over HTTPS.",
            )
        )
    iss = doc.get("authorization_response_iss_parameter_supported")
    if iss is not True:
        out.append(
            Judged(
                AS_ISS.id,
                Severity.LOW,
                f"Authorization server {issuer} does not advertise the iss authorization response parameter",
                f"got: authorization_response_iss_parameter_supported={iss!r}; spec wants: true (RFC 9207: "
                "clients can then detect mix-up attacks)",
                "Send iss in authorization responses and set authorization_response_iss_parameter_supported.",
            )
        )
    cimd = doc.get("client_id_metadata_document_supported")
    if cimd is not True:
        dcr = "registration_endpoint" in doc
        out.append(
            Judged(
                AS_CIMD.id,
                Severity.LOW,
                f"Authorization server {issuer} does not support Client ID Metadata Documents"
                + (" (dynamic client registration only, which is deprecated)" if dcr else ""),
                f"got: client_id_metadata_document_supported={cimd!r}"
                f"{', registration_endpoint present' if dcr else ''}; spec wants: true",
                "Support Client ID Metadata Documents and advertise client_id_metadata_document_supported.",
            )
        )
    return out
