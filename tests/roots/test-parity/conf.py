"""The parity catalogue's site: the files of each bad input are written by tests/test_parity.py."""

import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

from tests.rootconf import *  # noqa: E402, F403

project = "Parity"
exclude_patterns = [*exclude_patterns, "posts/left-out.md"]  # noqa: F405
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
blog_title = project
myst_heading_anchors = 3
