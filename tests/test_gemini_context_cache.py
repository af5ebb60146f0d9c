"""prompt_cache="explicit" on Gemini: context caches made once per shared prefix, read by the
requests that share it, deleted when the model closes; a cache that cannot be made leaves the
request uncached. Against a local server that keeps caches as Gemini's cachedContents does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import pickle
from typing import Any

import pytest
from gemini_replies import KEY, SSE, call, reply, sse, text, usage
from local_server import LocalServer, Recorded, Scripted

from agentloop import LLMClient, Usage, prices
from agentloop.providers.gemini import GeminiModel
from agentloop.providers.gemini.context_cache import ContextCaches

Body = dict[str, Any]
#: Long enough to be cached (Gemini caches 1024 tokens and more).
SYSTEM = "You are a careful assistant. " * 200
JSON = {"content-type": "application/json"}


def add(a: int, b: int) -> int:
    "Add two numbers."
    return a + b


class CachingGemini:
    """Answers generateContent as Gemini does, and keeps cachedContents: made by POST, read by
    a request's ``cachedContent`` (its tokens reported as cachedContentTokenCount), deleted
    by DELETE. ``calls`` tool calls to ``add`` come before each final answer."""

    def __init__(self, calls: int = 0) -> None:
        self.caches: dict[str, Body] = {}
        self.created: list[Body] = []
        self.deleted: list[str] = []
        self.generated: list[Body] = []
        self.calls = calls
        self.refuse_create = False
        self._names = itertools.count(1)

    def __call__(self, request: Recorded) -> Scripted:
        path = request.path.split("?")[0]
        if request.method == "POST" and path.endswith("/v1beta/cachedContents"):
            return self._create(request.json())
        if request.method == "DELETE" and "/v1beta/cachedContents/" in path:
            name = path.split("/v1beta/", 1)[1]
            self.deleted.append(name)
            if self.caches.pop(name, None) is None:
                return error(404, "NOT_FOUND", f"{name} not found")
            return Scripted(200, b"{}", JSON)
        return self._generate(request.json(), stream=":streamGenerateContent" in path)

    def _create(self, body: Body) -> Scripted:
        self.created.append(body)
        if self.refuse_create:
            return error(400, "INVALID_ARGUMENT", "Cached content is too small.")
        name = f"cachedContents/cache{next(self._names)}"
        self.caches[name] = body
        tokens = tokens_of(body)
        metadata = {"totalTokenCount": tokens}
        created = {"name": name, "model": body["model"], "usageMetadata": metadata}
        return Scripted(200, json.dumps(created).encode(), JSON)

    def _generate(self, body: Body, *, stream: bool) -> Scripted:
        self.generated.append(body)
        cached = 0
        if "cachedContent" in body:
            cache = self.caches.get(body["cachedContent"])
            if cache is None:
                gone = "CachedContent not found (or permission denied)"
                return error(403, "PERMISSION_DENIED", gone)
            cached = tokens_of(cache)
        prompt = cached + tokens_of({"contents": body["contents"]})
        metered = usage(prompt, 5, cachedContentTokenCount=cached) if cached else usage(prompt, 5)
        answered = sum(1 for c in body["contents"] if c["role"] == "model")
        part = call("add", {"a": answered, "b": 1}) if answered < self.calls else text("done")
        answer = reply(part, usageMetadata=metered)
        if stream:
            return Scripted(200, sse(answer).encode(), SSE)
        return Scripted(200, json.dumps(answer).encode(), JSON)


def tokens_of(body: Body) -> int:
    return len(json.dumps(body)) // 4


def error(status: int, kind: str, message: str) -> Scripted:
    body = {"error": {"code": status, "message": message, "status": kind}}
    return Scripted(status, json.dumps(body).encode(), JSON)


@pytest.fixture
def server() -> Any:
    gemini_server = CachingGemini(calls=2)
    local = LocalServer(responder=gemini_server)
    local.start()
    gemini_server.url = local.url  # type: ignore[attr-defined]
    try:
        yield gemini_server
    finally:
        local.stop()


def model(server: CachingGemini, **kwargs: Any) -> GeminiModel:
    options = {"prompt_cache": "explicit", **kwargs.pop("options", {})}
    return GeminiModel(
        "gemini-2.5-flash",
        base_url=server.url,  # type: ignore[attr-defined]
        api_key=KEY,
        retry_backoff=0,
        options=options,
        **kwargs,
    )


def test_a_chain_makes_a_cache_per_prefix_reads_it_and_deletes_it_on_close(
    server: CachingGemini,
) -> None:
    with model(server) as gemini_model:
        response = gemini_model.chain("Add up.", system=SYSTEM, tools=[add])
        assert response.text() == "done"
    first, second = server.created
    # Step 1: only the opening is in the request, so system and tools are the cache.
    assert first["model"] == "models/gemini-2.5-flash"
    assert first["ttl"] == "300s"
    assert first["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
    assert first["tools"][0]["functionDeclarations"][0]["name"] == "add"
    assert "contents" not in first
    # Step 2 on: the opening user message joins them; step 3 reads that same cache.
    assert second["contents"] == [{"role": "user", "parts": [{"text": "Add up."}]}]
    assert {k: v for k, v in second.items() if k != "contents"} == first
    steps = server.generated
    assert [body["cachedContent"] for body in steps] == [
        "cachedContents/cache1",
        "cachedContents/cache2",
        "cachedContents/cache2",
    ]
    for body in steps:
        assert not {"systemInstruction", "tools", "toolConfig"} & set(body)
    assert steps[0]["contents"] == [{"role": "user", "parts": [{"text": "Add up."}]}]
    assert [c["role"] for c in steps[2]["contents"]] == ["model", "user", "model", "user"]
    # Closed: both deleted, nothing left on the server.
    assert sorted(server.deleted) == ["cachedContents/cache1", "cachedContents/cache2"]
    assert server.caches == {}


def test_usage_reports_the_writes_once_and_the_reads_of_every_step(server: CachingGemini) -> None:
    gemini_model = model(server)
    response = gemini_model.chain("Add up.", system=SYSTEM, tools=[add])
    writes = [tokens_of(body) for body in server.created]
    steps = [r.usage() for r in response.responses]
    assert [u.cache_write_tokens for u in steps] == [writes[0], writes[1], None]
    assert [u.cached_input_tokens for u in steps] == [writes[0], writes[1], writes[1]]
    total = response.usage()
    assert total.cache_write_tokens == sum(writes)
    assert total.cached_input_tokens == writes[0] + 2 * writes[1]
    # The writes are input, billed at the input price: in input_tokens and in the cost.
    first = steps[0]
    assert first.input_tokens >= writes[0] + (first.cached_input_tokens or 0)
    as_input = Usage(first.input_tokens, first.output_tokens, first.cached_input_tokens)
    assert first.cost == pytest.approx(prices.cost(as_input, "gemini/gemini-2.5-flash"))
    assert total.cost == pytest.approx(sum(u.cost or 0 for u in steps))
    gemini_model.close()


def test_prompts_with_the_same_system_and_tools_share_one_cache(server: CachingGemini) -> None:
    server.calls = 0
    with model(server) as gemini_model:
        for question in ("One?", "Two?", "Three?"):
            gemini_model.prompt(question, system=SYSTEM, tools=[add]).text()
    assert len(server.created) == 1
    assert {body["cachedContent"] for body in server.generated} == {"cachedContents/cache1"}
    assert server.deleted == ["cachedContents/cache1"]


def test_a_ttl_option_sets_the_caches_ttl(server: CachingGemini) -> None:
    server.calls = 0
    with model(server, options={"prompt_cache_ttl": "1h"}) as gemini_model:
        gemini_model.prompt("Hi", system=SYSTEM).text()
    assert server.created[0]["ttl"] == "3600s"


def test_auto_and_short_prefixes_make_no_cache(server: CachingGemini) -> None:
    server.calls = 0
    with model(server) as gemini_model:
        gemini_model.prompt("Hi", system=SYSTEM, prompt_cache="auto").text()
        gemini_model.prompt("Hi", system="Be brief.").text()  # far below 1024 tokens
    assert server.created == []
    assert all("systemInstruction" in body for body in server.generated)


def test_a_cache_that_cannot_be_made_leaves_the_request_uncached_with_a_warning(
    server: CachingGemini, caplog: pytest.LogCaptureFixture
) -> None:
    server.calls = 0
    server.refuse_create = True
    gemini_model = model(server)
    with caplog.at_level(logging.WARNING, logger="agentloop.providers.gemini"):
        assert gemini_model.prompt("Hi", system=SYSTEM).text() == "done"
        assert gemini_model.prompt("Again", system=SYSTEM).text() == "done"
    assert len(server.created) == 1  # not tried again for the same prefix
    assert all("cachedContent" not in body for body in server.generated)
    assert server.generated[0]["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Cached content is too small" in warnings[0].getMessage()
    assert KEY not in caplog.text
    gemini_model.close()
    assert server.deleted == []


def test_a_cache_gone_from_the_server_is_made_again(
    server: CachingGemini, caplog: pytest.LogCaptureFixture
) -> None:
    server.calls = 0
    gemini_model = model(server)
    gemini_model.prompt("Hi", system=SYSTEM).text()
    server.caches.clear()  # deleted behind the model's back
    with caplog.at_level(logging.WARNING, logger="agentloop.providers.gemini"):
        assert gemini_model.prompt("Again", system=SYSTEM).text() == "done"
    assert "cachedContent" not in server.generated[-1]  # sent again, uncached
    assert "gone" in caplog.text
    gemini_model.prompt("Third", system=SYSTEM).text()
    assert len(server.created) == 2
    assert server.generated[-1]["cachedContent"] == "cachedContents/cache2"
    gemini_model.close()


def test_an_expiring_cache_is_replaced(server: CachingGemini) -> None:
    server.calls = 0
    clock = [1000.0]
    gemini_model = model(server)
    gemini_model.context_caches.clock = lambda: clock[0]
    gemini_model.prompt("Hi", system=SYSTEM).text()
    clock[0] += 200  # within its 300 s, less a minute's margin: still read
    gemini_model.prompt("Hi", system=SYSTEM).text()
    assert len(server.created) == 1
    clock[0] += 50  # 250 s: Gemini may drop it before the request is read
    gemini_model.prompt("Hi", system=SYSTEM).text()
    assert len(server.created) == 2
    gemini_model.close()  # the first one lives a few more seconds: deleted too
    assert sorted(server.deleted) == ["cachedContents/cache1", "cachedContents/cache2"]


def test_a_stream_reads_the_cache_and_reports_the_write(server: CachingGemini) -> None:
    server.calls = 0
    with model(server) as gemini_model:
        response = gemini_model.prompt("Hi", system=SYSTEM, stream=True)
        assert "".join(response) == "done"
        assert response.usage().cache_write_tokens == tokens_of(server.created[0])
    assert server.generated[0]["cachedContent"] == "cachedContents/cache1"
    assert server.deleted == ["cachedContents/cache1"]


async def test_async_prompts_at_once_make_one_cache_deleted_by_aclose(
    server: CachingGemini,
) -> None:
    server.calls = 0
    async with model(server).to_async() as amodel:
        answers = await asyncio.gather(
            *(amodel.prompt(f"Question {n}", system=SYSTEM) for n in range(5))
        )
        assert {a.text() for a in answers} == {"done"}
        stream = amodel.prompt("Streamed", system=SYSTEM, stream=True)
        assert "".join([chunk async for chunk in stream]) == "done"
    assert len(server.created) == 1
    assert {body["cachedContent"] for body in server.generated} == {"cachedContents/cache1"}
    assert server.deleted == ["cachedContents/cache1"]


def test_copies_share_the_caches_and_a_pickled_one_starts_empty(server: CachingGemini) -> None:
    gemini_model = model(server)
    copy = gemini_model.with_transports()
    assert copy.context_caches is gemini_model.context_caches
    gemini_model.context_caches.add("key", "cachedContents/x", 300)
    revived = pickle.loads(pickle.dumps(gemini_model.with_transports()))
    assert isinstance(revived.context_caches, ContextCaches)
    assert revived.context_caches.find("key") is None
    assert gemini_model.context_caches.take_all() == ["cachedContents/x"]


def test_usage_sums_keep_cache_writes_apart() -> None:
    written = Usage(100, 5, details={"cache_creation_input_tokens": 80})
    read = Usage(100, 5, cached_input_tokens=90)
    assert Usage().cache_write_tokens is None
    assert (written + read).cache_write_tokens == 80
    assert (written + read).cached_input_tokens == 90
    assert Usage.sum([written, written, read]).cache_write_tokens == 160


async def test_async_requests_whose_cache_is_gone_are_sent_again_uncached(
    server: CachingGemini,
) -> None:
    server.calls = 0
    async with model(server).to_async() as amodel:
        assert (await amodel.prompt("Hi", system=SYSTEM)).text() == "done"
        server.caches.clear()
        assert (await amodel.prompt("Again", system=SYSTEM)).text() == "done"
        assert "cachedContent" not in server.generated[-1]
        await amodel.prompt("Made again", system=SYSTEM)
        server.caches.clear()
        chunks = [c async for c in amodel.prompt("Streamed", system=SYSTEM, stream=True)]
        assert "".join(chunks) == "done"
        assert "cachedContent" not in server.generated[-1]
    assert len(server.created) == 2


def test_a_bad_mode_or_ttl_is_refused_whatever_the_mode(server: CachingGemini) -> None:
    gemini_model = model(server)
    with pytest.raises(ValueError, match="prompt_cache_ttl"):
        gemini_model.prompt("Hi", prompt_cache="auto", prompt_cache_ttl="2h").text()
    with pytest.raises(ValueError, match="'auto', 'explicit' or 'off'"):
        gemini_model.prompt("Hi", prompt_cache="always").text()
    assert server.generated == []


def test_a_batch_shares_the_models_caches_and_closing_the_model_deletes_them(
    server: CachingGemini,
) -> None:
    server.calls = 0
    gemini_model = model(server)
    client = LLMClient(gemini_model, progress=False)
    results = client.process_prompts_sync([f"Question {n}" for n in range(4)], system=SYSTEM)
    assert all(r.ok for r in results)
    assert len(server.created) == 1
    assert {body["cachedContent"] for body in server.generated} == {"cachedContents/cache1"}
    gemini_model.close()
    assert server.deleted == ["cachedContents/cache1"]
