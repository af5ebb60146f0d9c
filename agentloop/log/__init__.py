"""The conversation log: every prompt, response, tool call and tool result, in SQLite.

```python
from agentloop.log import Log

log = Log()  # logs.db under $AGENTLOOP_HOME, else the user data folder
conversation = model.conversation(tools=[...])
log.attach(conversation)  # each step is stored the moment it completes
conversation.chain("...")

for logged in log.conversations(limit=5):
    print(logged.id, logged.name, logged.usage())
again = log.load(log.latest().id)  # carry on where it stopped, still logged
```

Each write is one transaction holding one step (a model reply, or a batch of
tool results), so a process that dies mid-chain leaves every completed step
stored. The schema's version is SQLite's ``user_version``; opening a log runs
the migrations it has not seen yet. API keys are never stored: only messages,
model names, options, usage and cost.
"""

from agentloop.log.records import LoggedConversation, LoggedResponse
from agentloop.log.schema import MIGRATIONS, LogError, data_dir, default_path, migrate
from agentloop.log.store import Log, new_id

__all__ = [
    "MIGRATIONS",
    "Log",
    "LogError",
    "LoggedConversation",
    "LoggedResponse",
    "data_dir",
    "default_path",
    "migrate",
    "new_id",
]
