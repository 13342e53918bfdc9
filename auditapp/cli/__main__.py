"""``python -m auditapp.cli.main``."""

import sys

from auditapp.cli.main.main import main

sys.exit(main())
