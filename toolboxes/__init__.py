"""Ready-made toolboxes for agentloop."""
