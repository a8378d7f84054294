"""Authors with profiles, one post by two of them, and a series."""

import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

from tests.rootconf import *  # noqa: E402, F403

project = "Test KB"
blog_title = project
blog_feed_fulltext = True
blog_feed_length = 20
html_theme = "pydata_sphinx_theme"
