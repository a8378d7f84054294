"""One sound post; the tests add links that lead outside the repository."""

import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

from tests.rootconf import *  # noqa: E402, F403

project = "Links"
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
blog_title = project
html_theme = "pydata_sphinx_theme"
