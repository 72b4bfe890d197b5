"""`python -m sandbox serve --port 8900 --data-dir DIR`."""

import sys

from sandbox.cli import main

sys.exit(main())
