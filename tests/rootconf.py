"""Settings shared by the small test sites in tests/roots (each conf.py imports them).

The same stack as the real site (MyST, sphinx-design, ABlog, kb and the site's
template overrides) with the basic theme, so a test site builds in seconds.
"""

from pathlib import Path

import kb

__all__ = [
    "blog_feed_archives",
    "blog_path",
    "exclude_patterns",
    "extensions",
    "fontawesome_included",
    "html_theme",
    "kb_site_url",
    "myst_title_to_header",
    "nitpicky",
    "post_auto_orphan",
    "post_show_prev_next",
    "root_doc",
    "smartquotes",
    "source_suffix",
    "templates_path",
]

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
post_show_prev_next = False
fontawesome_included = True
html_theme = "basic"
# The site's own template overrides (ABlog's tag, practice and archive pages).
templates_path = [str(Path(kb.__file__).resolve().parents[1] / "_templates")]
