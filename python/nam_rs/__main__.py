"""``python -m nam_rs`` runs the command line."""

import sys

from nam_rs.cli import main

sys.exit(main())
