"""A tour of the ready-made toolboxes: one conversation using Files, SQLite, HTTP, Memory
and Shell in a throwaway project folder.

Runs offline: a scripted FunctionModel plays the model, a small web server on 127.0.0.1
plays the web. Writes and shell commands go through an approve callback, as they would in
a real application; one request for an internal address shows a refusal.
Run: python examples/toolbox_tour.py
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agentloop import FunctionModel, Request, Tool, ToolCall, ToolResult
from toolboxes import HTTP, Files, Memory, Shell, SQLite


def make_project(folder: Path) -> None:
    (folder / "notes").mkdir()
    (folder / "notes" / "plan.md").write_text("# Plan\nTODO: sum the sales per region\n")
    with sqlite3.connect(folder / "sales.db") as db:
        db.execute("CREATE TABLE sales (region TEXT, amount REAL)")
        db.executemany(
            "INSERT INTO sales VALUES (?, ?)",
            [("north", 120.0), ("south", 80.5), ("north", 30.0), ("east", 42.0)],
        )
    db.close()
    (folder / "site").mkdir()
    (folder / "site" / "index.html").write_text(
        "<html><body><h1>Regions</h1><p>North is our largest region.</p></body></html>"
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def scripted_model(site: str) -> FunctionModel:
    """The calls a careful assistant would make, one per step, then a summary."""
    steps = [
        ToolCall("Files_search", {"pattern": "*.md", "text": "TODO"}, ""),
        ToolCall("SQLite_tables", {}, ""),
        ToolCall(
            "SQLite_query",
            {"sql": "SELECT region, SUM(amount) FROM sales GROUP BY region ORDER BY 2 DESC"},
            "",
        ),
        ToolCall("HTTP_fetch", {"url": site}, ""),
        ToolCall("HTTP_fetch", {"url": "http://169.254.169.254/latest/meta-data/"}, ""),
        ToolCall("Memory_set", {"key": "top_region", "value": "north"}, ""),
        ToolCall(
            "Files_write",
            {"path": "notes/report.md", "content": "# Sales\nnorth 150.0\nsouth 80.5\n"},
            "",
        ),
        ToolCall("Shell_run", {"command": "wc -l notes/report.md"}, ""),
    ]

    def play(request: Request) -> Any:
        done = sum(len(m.tool_results) for m in request.messages if m.role == "tool")
        if done < len(steps):
            return steps[done]
        return "North leads with 150.0; the report is in notes/report.md."

    return FunctionModel(play, model_id="tour")


def show(tool: Tool | None, call: ToolCall, result: ToolResult) -> None:
    mark = "refused" if result.is_error else "ok"
    print(f"-> {call.name} {json.dumps(call.arguments)}")
    print("   " + result.output.rstrip().replace("\n", "\n   ") + f"  [{mark}]")


def approve(tool: Tool, call: ToolCall) -> bool:
    print(f"?? approve {call.name} {json.dumps(call.arguments)}: yes")
    return True


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_project(folder)
        handler = partial(QuietHandler, directory=str(folder / "site"))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        site = f"http://127.0.0.1:{server.server_address[1]}/"

        tools = [
            Files(folder),
            SQLite(folder / "sales.db"),
            HTTP(allow_private_hosts=["127.0.0.1"]),  # our local site, nothing else internal
            Memory(),
            Shell(folder, timeout=10),
        ]
        conversation = scripted_model(site).conversation(
            tools=tools, after_call=show, approve=approve
        )
        answer = conversation.chain("Sum the sales per region and write a short report.")
        print(f"\nanswer: {answer.text()}")
        conversation.close()
        server.shutdown()


if __name__ == "__main__":
    main()
