"""`python -m train` runs the egotrain command line."""

import sys

from train.cli import main

sys.exit(main())
