"""Valid content whose names, titles and excerpts carry HTML and script payloads."""

import sys
from pathlib import Path

# The repository, when built in place; under pytest the repository is on sys.path already.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))
import kb  # noqa: E402

REPO = Path(kb.__file__).resolve().parent.parent

project = "Hostile escape"
extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
kb_site_url = "https://kb.test/"
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = [str(REPO / "_templates")]
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_title_to_header = True
smartquotes = False
blog_path = "blog"
blog_title = project
blog_feed_archives = True
blog_feed_fulltext = True
post_auto_orphan = True
post_show_prev_next = True
fontawesome_included = True
html_theme = "pydata_sphinx_theme"
# Every ABlog sidebar on every page, so that each of their templates is rendered.
html_sidebars = {
    "**": [
        "ablog/postcard.html",
        "ablog/recentposts.html",
        "ablog/tagcloud.html",
        "ablog/categories.html",
        "ablog/archives.html",
        "ablog/authors.html",
        "ablog/languages.html",
        "ablog/locations.html",
    ]
}
