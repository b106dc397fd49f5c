"""Entry point: ``python main.py SUBCOMMAND ...`` is the same as ``reid SUBCOMMAND ...``."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
