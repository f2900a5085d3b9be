"""Toolsets a turn can call beyond the built-in tools: actions and MCP clients."""
