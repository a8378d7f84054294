"""One published post, one draft and one scheduled post, sharing an author, a tag and a series."""

import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

from tests.rootconf import *  # noqa: E402, F403

project = "Drafts"
extensions = [*extensions, "sphinx_sitemap"]  # noqa: F405
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
blog_title = project
blog_feed_fulltext = True
post_show_prev_next = True
html_theme = "pydata_sphinx_theme"
# A source copy of every page, and every ABlog sidebar on every page: places a held post could leak to.
html_copy_source = True
html_show_sourcelink = True
html_sidebars = {
    "**": [
        "ablog/postcard.html",
        "ablog/recentposts.html",
        "ablog/tagcloud.html",
        "ablog/categories.html",
        "ablog/archives.html",
        "ablog/authors.html",
    ]
}
sitemap_url_scheme = "{link}"
