"""The example server: notes kept in memory, exposed as tools, a prompt and a resource."""

from __future__ import annotations

import argparse
from typing import Annotated

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from example_server import __version__

_NOTES: dict[str, str] = {}


def build_server(
    *, token_verifier: TokenVerifier | None = None, auth: AuthSettings | None = None
) -> MCPServer:
    """The server with its tools, prompt and resource; HTTP mode passes a token verifier and auth settings."""
    server = MCPServer(
        "example-notes",
        version=__version__,
        instructions="Keeps short text notes for the session. Use add_note to store, search_notes to find.",
        token_verifier=token_verifier,
        auth=auth,
    )

    @server.tool(annotations={"readOnlyHint": False, "idempotentHint": True})
    def add_note(
        title: Annotated[
            str, Field(description="Short title; an existing note with this title is replaced.")
        ],
        body: Annotated[str, Field(description="The text of the note.")],
    ) -> str:
        """Store a note under a title."""
        _NOTES[title] = body
        return f"stored {title!r} ({len(body)} characters)"

    @server.tool(annotations={"readOnlyHint": True})
    def search_notes(
        query: Annotated[str, Field(description="Text to look for, case-insensitive.")],
        limit: Annotated[int, Field(description="Most results to return.", ge=1, le=50)] = 10,
    ) -> list[str]:
        """Find notes whose title or body contains the query."""
        needle = query.lower()
        hits = [t for t, b in _NOTES.items() if needle in t.lower() or needle in b.lower()]
        return sorted(hits)[:limit]

    @server.tool(annotations={"readOnlyHint": True})
    def word_count(text: Annotated[str, Field(description="Any text.")]) -> int:
        """Count the words in a text."""
        return len(text.split())

    @server.prompt()
    def summarize_notes(style: str = "bullet points") -> str:
        """Ask the model to summarize every stored note."""
        listing = "\n".join(f"- {t}: {b}" for t, b in sorted(_NOTES.items())) or "(no notes yet)"
        return f"Summarize these notes as {style}:\n{listing}"

    @server.resource("notes://all", mime_type="text/plain")
    def all_notes() -> str:
        """Every stored note, one per line."""
        return "\n".join(f"{t}: {b}" for t, b in sorted(_NOTES.items()))

    return server


server = build_server()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="example-notes-mcp", description=__doc__)
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        from example_server.secure_http import serve

        serve(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
