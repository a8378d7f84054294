"""Series with parts, published in and out of order."""

import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

from tests.rootconf import *  # noqa: E402, F403

project = "Series test"
html_theme = "pydata_sphinx_theme"
html_theme_options = {"show_prev_next": False}
