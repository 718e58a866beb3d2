"""``python -m uplink_py``: the ``uplink-py`` command line."""

import sys

from .cli import main

sys.exit(main())
