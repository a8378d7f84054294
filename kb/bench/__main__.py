"""``python -m kb.bench``: see :mod:`kb.bench`."""

import sys

from kb.bench import main

sys.exit(main())
