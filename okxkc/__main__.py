"""``python -m okxkc``: the command line lives in :mod:`okxkc.cli`."""

import sys

from okxkc.cli import main

if __name__ == "__main__":
    sys.exit(main())
