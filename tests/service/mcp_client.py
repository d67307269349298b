"""Drive Docent's MCP server with the official SDK's own client, over HTTP or stdio."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


@dataclass(frozen=True)
class ToolReply:
    """One tool call's outcome: an error flag, the text content and the structured content."""

    is_error: bool
    text: str
    data: Any


Call = tuple[str, dict[str, Any]]


async def _session(client: Client, calls: list[Call]) -> tuple[list[str], list[ToolReply]]:
    async with client as session:
        tools = [tool.name for tool in (await session.list_tools()).tools]
        replies = []
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            text = "\n".join(getattr(block, "text", "") for block in result.content)
            replies.append(ToolReply(result.is_error, text, result.structured_content))
        return tools, replies


def over_http(url: str, calls: list[Call], headers: dict[str, str] | None = None) -> tuple[list[str], list[ToolReply]]:
    """Open an MCP session at ``url`` (the /mcp endpoint) with these headers, and call the tools in order."""

    async def run() -> tuple[list[str], list[ToolReply]]:
        async with httpx2.AsyncClient(headers=headers or {}, timeout=60) as http:
            return await _session(Client(streamable_http_client(url, http_client=http)), calls)

    return asyncio.run(run())


def over_stdio(params: StdioServerParameters, calls: list[Call]) -> tuple[list[str], list[ToolReply]]:
    """Spawn the stdio server described by ``params`` and call the tools in order."""
    return asyncio.run(_session(Client(params, read_timeout_seconds=120), calls))
