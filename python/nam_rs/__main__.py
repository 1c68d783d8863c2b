"""``python -m nam_rs`` runs the command line."""

import sys

from nam_rs.cli import main

if __name__ == "__main__":
    sys.exit(main())
