"""`python -m stresswatch` runs the command line."""

import sys

from stresswatch.cli import main

sys.exit(main())
