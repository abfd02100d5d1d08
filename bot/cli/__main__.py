"""`python -m bot.cli`: the same as the `pulsebot` script."""

import sys

from bot.cli.main import main

sys.exit(main())
