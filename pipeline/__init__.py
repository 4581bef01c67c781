"""mcp-harden: supply-chain and deployment hardening for MCP servers."""

__version__ = "0.1.0"
