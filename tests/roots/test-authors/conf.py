import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
project = "Test KB"
kb_site_url = "https://kb.test/"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_title_to_header = True
nitpicky = True
blog_path = "blog"
blog_title = "Test KB"
blog_feed_archives = True
blog_feed_fulltext = True
blog_feed_length = 20
post_auto_orphan = True
fontawesome_included = True
html_theme = "pydata_sphinx_theme"
