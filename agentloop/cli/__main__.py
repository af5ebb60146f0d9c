import sys

from agentloop.cli.app import main

sys.exit(main())
