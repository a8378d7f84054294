import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

project = "Search markup test"
extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_title_to_header = True
nitpicky = True
smartquotes = False
kb_site_url = "https://kb.test/"
blog_path = "blog"
blog_feed_archives = True
post_auto_orphan = True
fontawesome_included = True
html_theme = "basic"

import kb  # noqa: E402

# The site's own template overrides (ABlog's tag, practice and archive pages).
templates_path = [str(Path(kb.__file__).resolve().parents[1] / "_templates")]
post_show_prev_next = False
