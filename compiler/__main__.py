"""`python -m accoil_map`: the accoil-map command line."""

import sys

from .cli import main

sys.exit(main())
