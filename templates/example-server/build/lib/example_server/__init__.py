"""example-notes-mcp: a small MCP server for notes."""

__version__ = "1.0.0"
