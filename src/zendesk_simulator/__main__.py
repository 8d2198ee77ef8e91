"""``python -m zendesk_simulator``: the same as the ``zendesk-simulator`` console script."""

import sys

from .cli import main

sys.exit(main())
