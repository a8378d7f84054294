"""``python -m kb.preview``: see :mod:`kb.preview`.

The server's processes (sphinx-autobuild runs each rebuild's request in one)
start from a clean process and load only ``kb.warm``: they import ``__main__``
again unless, as here, it is a package's ``__main__`` module.
"""

from __future__ import annotations

import sys

from kb.preview import main

if __name__ == "__main__":
    sys.exit(main())
