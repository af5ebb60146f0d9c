"""The rules each provider enforces on tool calls in a request history (it answers 400 otherwise).

Each checker takes a request body as sent and returns the problems a real
provider would refuse it for: a tool call without its results right after it,
a result that answers no call just before it, a count that does not match.
"""

from __future__ import annotations

from typing import Any


def openai_chat(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    messages = body["messages"]
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            owner = _previous_non_tool(messages, index)
            ids = {c["id"] for c in (owner or {}).get("tool_calls") or []}
            if message["tool_call_id"] not in ids:
                problems.append(f"tool message {index} answers no preceding tool call")
        for call in message.get("tool_calls") or []:
            answers = _following(messages, index + 1, lambda m: m["role"] == "tool")
            if call["id"] not in {m["tool_call_id"] for m in answers}:
                problems.append(f"tool call {call['id']} has no tool message right after it")
    return problems


def openai_responses(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    items = body["input"]
    calls: set[str] = set()
    open_calls: set[str] = set()
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            calls.add(item["call_id"])
            open_calls.add(item["call_id"])
        elif kind == "function_call_output":
            if item["call_id"] not in calls:
                problems.append(f"output for {item['call_id']} comes before or without its call")
            open_calls.discard(item["call_id"])
        elif kind == "message" and item.get("role") == "user" and open_calls:
            problems.append(f"calls {sorted(open_calls)} have no output before the next user turn")
    if open_calls:
        problems.append(f"No tool output found for function calls {sorted(open_calls)}")
    return problems


def anthropic(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    messages = body["messages"]
    for index, message in enumerate(messages):
        blocks = message["content"] if isinstance(message["content"], list) else []
        uses = {b["id"] for b in blocks if b["type"] == "tool_use"}
        results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        if results:
            before = messages[index - 1] if index else {"content": []}
            previous = before["content"] if isinstance(before["content"], list) else []
            asked = {b["id"] for b in previous if b["type"] == "tool_use"}
            if not set(results) <= asked:
                problems.append(f"unexpected tool_use_id in tool_result blocks of message {index}")
        if uses:
            after = messages[index + 1] if index + 1 < len(messages) else {"content": []}
            following = after["content"] if isinstance(after["content"], list) else []
            answered = {b["tool_use_id"] for b in following if b["type"] == "tool_result"}
            if not uses <= answered:
                problems.append(f"tool_use ids {sorted(uses - answered)} without tool_result after")
    return problems


def gemini(body: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    contents = body["contents"]
    for index, content in enumerate(contents):
        calls = [p for p in content["parts"] if "functionCall" in p]
        if not calls:
            continue
        after = contents[index + 1]["parts"] if index + 1 < len(contents) else []
        responses = [p for p in after if "functionResponse" in p]
        if len(responses) != len(calls):
            problems.append(
                f"content {index}: {len(calls)} function calls, {len(responses)} responses after"
            )
    return problems


def _previous_non_tool(messages: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    for message in reversed(messages[:index]):
        if message["role"] != "tool":
            return message
    return None


def _following(messages: list[dict[str, Any]], start: int, keep: Any) -> list[dict[str, Any]]:
    out = []
    for message in messages[start:]:
        if not keep(message):
            break
        out.append(message)
    return out
