"""`agentloop --debug` shows agentloop's log on stderr; without it, nothing is logged."""

from __future__ import annotations

from local_server import LocalServer
from openai_chat_wire import SSE, as_stream, completion
from terminal import run_cli

KEY = "sk-test-key"  # what openai_env sets


def test_debug_shows_each_request_and_its_bodies_without_the_key(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    local_server.reply({"error": {"message": "busy"}}, status=503)
    local_server.reply(as_stream(completion("Pelicans fly.")), headers=SSE)

    result = run_cli("--debug", "-n", "-m", "gpt-4o", "Tell me", env=openai_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Pelicans fly.\n"
    log = result.stderr
    assert "agentloop.providers.request_log INFO: openai gpt-4o: 503 in" in log
    assert "(attempt 1)" in log
    assert "agentloop.providers.retry WARNING: openai/gpt-4o: retrying in" in log
    assert "openai gpt-4o: 200 in" in log
    assert "(attempt 2)" in log
    assert '"content":"Tell me"' in log  # the request body, at DEBUG
    assert "event message: [DONE]" in log  # the streamed events, at DEBUG
    assert KEY not in log
    assert "'authorization': '[redacted]'" in log


def test_without_debug_nothing_is_logged(
    local_server: LocalServer, openai_env: dict[str, str]
) -> None:
    local_server.reply(as_stream(completion("Pelicans fly.")), headers=SSE)

    result = run_cli("-n", "-m", "gpt-4o", "Tell me", env=openai_env)

    assert (result.returncode, result.stdout, result.stderr) == (0, "Pelicans fly.\n", "")
