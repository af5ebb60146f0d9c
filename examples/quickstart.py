"""agentloop quickstart: a multi-step tool chain with a function tool, a Toolbox and hooks.

Runs offline by default: a scripted FunctionModel plays the model, so no API key
is needed. Set AGENTLOOP_MODEL (and that provider's key) to run the same chain
against a real model, e.g. AGENTLOOP_MODEL=gpt-4.1-mini OPENAI_API_KEY=...

The code lives in agentloop/demo.py, so `agentloop demo` runs the same chain.
"""

from agentloop.demo import main

if __name__ == "__main__":
    main()
