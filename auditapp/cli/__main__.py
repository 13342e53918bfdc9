"""``python -m auditapp.cli``."""

import sys

from auditapp.cli.main import main

sys.exit(main())
