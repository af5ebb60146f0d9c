"""The ``agentloop`` command line: prompt, chain, chat, models, logs and demo.

``main()`` is the console script's entry point; ``python -m agentloop.cli`` runs it too.
Each command lives in the module named after it; `agentloop.cli.app` wires them
to argparse.
"""

from agentloop.cli.app import main

__all__ = ["main"]
