"""The argparse wiring of every command, and how a run ends (exit status, error line).

Exit statuses: 0 success, 1 a model or provider error, 2 a mistake in the
command line (found before any model call), 130 Ctrl-C. An error prints as one
line on stderr; ``--debug`` adds the traceback, and agentloop's log (every HTTP
request, every retry, the bodies with keys masked).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from agentloop import __version__
from agentloop.cli.errors import FAILURE, INTERRUPTED, UsageError, describe, exit_status
from agentloop.cli.key_values import join_option_pairs
from agentloop.cli.models import register_demo_model
from agentloop.cli.render import Output

Handler = Callable[[argparse.Namespace, Output], int]
COMMANDS = ("prompt", "chain", "chat", "batch", "models", "logs", "mcp", "demo")


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (and exit status 2) like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    register_demo_model()
    output = Output()
    debug = False
    try:
        args, extras = build_parser().parse_known_args(with_option_pairs(arguments))
        debug = args.debug
        if debug:
            show_debug_log()
        if extras:
            raise unrecognized(extras, args.command)
        if args.command is None:
            build_parser().print_help()
            return 0
        handler: Handler = args.handler
        return handler(args, output)
    except KeyboardInterrupt:
        output.end_answer()
        output.note("Interrupted.")
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, without a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILURE
    except Exception as exc:
        output.error(describe(exc))
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        return exit_status(exc)


def show_debug_log() -> None:
    """``--debug``: agentloop's log on stderr (each request, retry, and the bodies, keys
    masked); other libraries stay at the standard library's WARNING."""
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("agentloop").setLevel(logging.DEBUG)


def with_option_pairs(arguments: list[str]) -> list[str]:
    """The arguments with the default command, and ``-o KEY VALUE`` joined, except for
    ``agentloop batch``, whose ``-o`` is its output file."""
    arguments = with_default_command(arguments)
    command = next((a for a in arguments if a != "--debug"), None)
    return arguments if command == "batch" else join_option_pairs(arguments)


def with_default_command(arguments: list[str]) -> list[str]:
    """``agentloop "text"`` means ``agentloop prompt "text"``, as in the llm CLI."""
    index = 0
    while index < len(arguments) and arguments[index] == "--debug":
        index += 1
    rest = arguments[index:]
    if not rest or rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version"):
        return arguments
    return [*arguments[:index], "prompt", *rest]


def unrecognized(extras: Sequence[str], command: str | None) -> UsageError:
    """What argparse left over, named precisely: an unknown option, or a prompt in pieces."""
    where = f"agentloop {command}" if command else "agentloop"
    options = [item for item in extras if item.startswith("-") and not _is_number(item)]
    if options:
        name = options[0].partition("=")[0]
        return UsageError(f"{where} has no option {name} (see {where} --help)")
    if command in ("prompt", "chain"):
        return UsageError(
            f"unexpected argument {extras[0]!r}: {where} takes one prompt, "
            "so put a prompt of several words in quotes"
        )
    return UsageError(f"{where} takes no argument {extras[0]!r} (see {where} --help)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def at_least_one(units: str, unit: str) -> Callable[[str], int]:
    """An argparse type: a whole number of ``units``, at least one ``unit``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expects a whole number of {units}, got {text!r}"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1 {unit}, got {value}")
        return value

    return parse


#: ``--cl N``: model calls.
chain_limit = at_least_one("model calls", "model call")
#: ``--max-total-tokens N``: tokens, input plus output.
max_total_tokens = at_least_one("tokens", "token")


def port(text: str) -> int:
    """``--http PORT``: 0 to 65535 (0: any free port, logged on stderr)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value}")
    return value


def max_cost(text: str) -> float:
    """``--max-cost USD``: a positive number of US dollars."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expects a number of USD, like 0.50, got {text!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of USD, got {text}")
    return value


def build_parser() -> Parser:
    parser = Parser(
        prog="agentloop",
        description="Prompt models, run tool chains and chat, from the terminal.",
        epilog='"agentloop TEXT" is short for "agentloop prompt TEXT".',
    )
    parser.add_argument("--version", action="version", version=f"agentloop {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show agentloop's log (requests, retries, bodies) and the traceback of an error",
    )
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    common = _common_options()
    model = _model_options()
    tools = _tool_options()

    def add(name: str, help: str, parents: list[Parser]) -> Parser:
        command: Parser = commands.add_parser(name, help=help, description=help, parents=parents)
        command.set_defaults(command=name)
        return command

    prompt = add(
        "prompt",
        "Send a prompt and stream the answer; with tools (-T, --functions), run the tool loop.",
        [common, model, tools],
    )
    prompt.add_argument("prompt", nargs="?", help="the prompt (standard input is prepended)")
    _attachments(prompt)
    prompt.set_defaults(handler=_lazy("prompt"))

    chain = add(
        "chain", "Prompt with tools: run the tool loop until an answer.", [common, model, tools]
    )
    chain.add_argument("prompt", nargs="?", help="the prompt (standard input is prepended)")
    _attachments(chain)
    chain.set_defaults(handler=_lazy("chain"))

    chat = add("chat", "An interactive session that keeps its history.", [common, model, tools])
    _attachments(chat, "files for the first message")
    chat.set_defaults(handler=_lazy("chat"))

    _batch_command(
        add("batch", "Many prompts from a JSONL file, live or via batch APIs.", [common])
    )

    models = add("models", "Known models and aliases, and which provider keys are set.", [common])
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(handler=_lazy("models"))

    logs = add("logs", "Show recent conversations from the log.", [common])
    logs.add_argument("-n", type=int, default=10, metavar="N", help="how many (default 10)")
    logs.add_argument("--cid", metavar="ID", help="one conversation (an id or its start)")
    logs.add_argument("--json", action="store_true", help="print JSON")
    logs.add_argument("--path", action="store_true", help="print where the log is kept")
    logs.set_defaults(handler=_lazy("logs"))

    _mcp_command(
        add("mcp", "Serve tools to MCP clients (desktop apps, IDEs, other agents).", [common])
    )

    demo = add("demo", "Run the offline tool-chain demo.", [common])
    demo.add_argument("-m", "--model", help="run it against this model instead (needs its key)")
    demo.set_defaults(handler=_run_demo)
    return parser


def _batch_command(batch: Parser) -> None:
    batch.add_argument("input", metavar="IN.jsonl", help="one prompt a line: a string or messages")
    batch.add_argument(
        "-o", "--output", required=True, metavar="OUT.jsonl", help="the results, one a line"
    )
    batch.add_argument(
        "-m", "--model", help="the model (default: $AGENTLOOP_MODEL, else gpt-4.1-mini)"
    )
    batch.add_argument("-s", "--system", help="a system prompt for prompts without one")
    batch.add_argument(
        "--option", action="append", metavar="KEY=VALUE", help="a model option, as -o elsewhere"
    )
    batch.add_argument(
        "--batch-api",
        action="store_true",
        help="through the provider's batch API: half the price, answered within 24 hours",
    )
    batch.add_argument(
        "--poll",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds between two looks at a batch job (default 30)",
    )
    batch.add_argument("-T", "--tool", action="append", metavar="TOOL", help="as for chain")
    batch.add_argument("--functions", action="append", metavar="FILE_OR_CODE", help="as for chain")
    batch.add_argument("--tool-option", action="append", metavar="NAME.KEY=VALUE")
    batch.add_argument(
        "--cl",
        "--chain-limit",
        dest="cl",
        type=chain_limit,
        metavar="N",
        help="most model calls for one prompt's chain (default 25)",
    )
    batch.set_defaults(handler=_lazy("batch"))


def _mcp_command(mcp: Parser) -> None:
    actions = mcp.add_subparsers(title="actions", metavar="ACTION", parser_class=Parser)
    serve = actions.add_parser(
        "serve",
        help="serve tools over MCP: stdio, or streamable HTTP with --http",
        description="Serve tools (-T, --functions, --tool-option, as for chain) over MCP, "
        "on stdio by default.",
        parents=[_common_options()],
    )
    _tool_sources(serve)
    serve.add_argument(
        "--http",
        type=port,
        metavar="PORT",
        help="serve streamable HTTP on this port, at /mcp (0: any free port)",
    )
    serve.add_argument("--host", help="the address to bind with --http (default 127.0.0.1)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other machines can reach (no authentication: a warning is logged)",
    )
    serve.add_argument("--name", default="agentloop", help="the server's name for clients")
    serve.set_defaults(handler=_lazy("mcp"))
    mcp.set_defaults(handler=_mcp_help(mcp))


def _mcp_help(parser: Parser) -> Handler:
    def handler(_args: argparse.Namespace, _output: Output) -> int:
        parser.print_help()
        return 0

    return handler


def _common_options() -> Parser:
    common = Parser(add_help=False)
    # SUPPRESS: `agentloop --debug prompt` keeps the top-level value.
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show agentloop's log and tracebacks",
    )
    return common


def _model_options() -> Parser:
    model = Parser(add_help=False)
    model.add_argument(
        "-m", "--model", help="the model (default: $AGENTLOOP_MODEL, else gpt-4.1-mini)"
    )
    model.add_argument("-s", "--system", help="a system prompt")
    model.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a model option: -o temperature 0.2 or -o temperature=0.2 "
        "(values are read as JSON when they parse)",
    )
    model.add_argument(
        "-c",
        "--continue",
        dest="continue_",
        action="store_true",
        help="continue the latest conversation",
    )
    model.add_argument("--cid", metavar="ID", help="continue the conversation with this id")
    model.add_argument("-n", "--no-log", action="store_true", help="do not log this conversation")
    model.add_argument("-u", "--usage", action="store_true", help="show token usage (on stderr)")
    model.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    return model


def _tool_options() -> Parser:
    tools = Parser(add_help=False)
    _tool_sources(tools)
    tools.add_argument(
        "--td",
        "--tools-debug",
        dest="td",
        action="store_true",
        help="show every tool call and result",
    )
    tools.add_argument(
        "--ta", "--tools-approve", dest="ta", action="store_true", help="ask before every tool call"
    )
    tools.add_argument(
        "--cl",
        "--chain-limit",
        dest="cl",
        type=chain_limit,
        default=25,
        metavar="N",
        help="most model calls in one chain (default 25)",
    )
    tools.add_argument(
        "--max-cost",
        type=max_cost,
        metavar="USD",
        help="stop a chain before it spends more than this, in US dollars (needs a known price)",
    )
    tools.add_argument(
        "--max-total-tokens",
        type=max_total_tokens,
        metavar="N",
        help="stop a chain before it uses more tokens than this (input plus output)",
    )
    return tools


def _tool_sources(parser: Parser) -> None:
    """-T, --functions and --tool-option: which tools, as chain, chat and mcp serve take them."""
    parser.add_argument(
        "-T",
        "--tool",
        action="append",
        metavar="TOOL",
        help="module:function, module:ToolboxClass, Memory, Files, HTTP, SQLite, Shell, MCP, "
        "or the provider's own WebSearch, CodeExecution",
    )
    parser.add_argument(
        "--functions",
        action="append",
        metavar="FILE_OR_CODE",
        help="every public function of a .py file, or of Python code given inline",
    )
    parser.add_argument(
        "--tool-option",
        action="append",
        metavar="NAME.KEY=VALUE",
        help="configure a toolbox, e.g. --tool-option Files.root=.",
    )


def _attachments(parser: Parser, help: str = "an image or file: a path or a URL") -> None:
    parser.add_argument("-a", "--attachment", action="append", metavar="PATH_OR_URL", help=help)


def _lazy(module: str) -> Handler:
    """The command's ``run``, imported only when that command runs (a faster start)."""

    def handler(args: argparse.Namespace, output: Output) -> int:
        import importlib

        run: Handler = importlib.import_module(f"agentloop.cli.{module}").run
        return run(args, output)

    return handler


def _run_demo(args: argparse.Namespace, output: Output) -> int:
    from agentloop.demo import main as demo

    demo(args.model, output.console)
    return 0
