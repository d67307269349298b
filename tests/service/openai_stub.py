"""An OpenAI-compatible model server for fault tests, run as its own process.

Docent reaches it the way it reaches any hosted or self-hosted model: LiteLLM's
``openai/`` provider with ``api_base``. ``POST /_mode`` switches behaviour at run
time: ``ok`` (answers by quoting source [1]), ``slow`` (waits ``delay`` seconds
before the first byte), ``stall`` (streams one whole sentence and the start of the
next, then goes silent: the verifier streams only complete sentences) and ``error``
(HTTP 500). Killing the process is the "model server down" case.

    python -m uvicorn tests.service.openai_stub:app --port 8099
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.fakes.llm_scripts import echo_cite

app = FastAPI()
state: dict[str, Any] = {"mode": "ok", "delay": 0.0, "calls": 0}


@app.post("/_mode")
async def set_mode(request: Request) -> dict[str, Any]:
    state.update(await request.json())
    return state


@app.get("/_state")
async def get_state() -> dict[str, Any]:
    return state


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {"id": "stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


async def _stream(model: str, text: str, stall: bool) -> AsyncIterator[str]:
    words = text.split(" ")
    yield _chunk(model, {"role": "assistant", "content": words[0]})
    for i, word in enumerate(words[1:], start=1):
        if stall and i == len(words) // 2 + 2:  # a sentence and two words of the next are out, then silence
            await asyncio.sleep(3600)
        yield _chunk(model, {"content": " " + word})
    yield _chunk(model, {}, "stop")
    yield "data: [DONE]\n\n"


@app.post("/v1/chat/completions", response_model=None)
async def completions(request: Request) -> Any:
    body = await request.json()
    state["calls"] += 1
    mode = state["mode"]
    if mode == "error":
        return JSONResponse({"error": {"message": "stub failure", "type": "server_error"}}, status_code=500)
    if mode == "slow":
        await asyncio.sleep(float(state["delay"]))
    model = str(body.get("model", "stub"))
    text = echo_cite(body.get("messages", []))
    if mode == "stall":
        text = f"{text}. {text}"  # two sentences: the first is complete (and verified) before the silence
    if body.get("stream"):
        return StreamingResponse(_stream(model, text, stall=mode == "stall"), media_type="text/event-stream")
    return {"id": "stub", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split()), "total_tokens": 10}}
