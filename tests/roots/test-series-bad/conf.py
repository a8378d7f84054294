import sys
from pathlib import Path

# The repository root, so that `kb` imports when this root is built from tests/roots.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))

extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
project = "Series errors"
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_title_to_header = True
nitpicky = True
smartquotes = False
blog_path = "blog"
post_show_prev_next = False
fontawesome_included = True
html_theme = "pydata_sphinx_theme"
html_theme_options = {"show_prev_next": False}
post_auto_orphan = True
