"""Sphinx configuration of the knowledge base: settings only, no logic."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

project = "QxP Knowledge Base"
author = "QxP"
copyright = "QxP"

extensions = [
    "myst_parser",
    "sphinx_design",
    "ablog",
    "kb",
    "notfound.extension",
    "sphinx_copybutton",
    "sphinx_sitemap",
    "sphinxext.opengraph",
]

# -- the knowledge base ------------------------------------------------------
# The published address; `KB_SITE_URL=https://... make html` overrides it.
# Feeds, the sitemap and canonical links all derive from this one setting.
kb_site_url = "https://kb.qxp.example/"
kb_timezone = "UTC"
# Commits that change files without updating what they say (the import of the
# posts written before this repository, mass reformatting, renames): listed in
# each page's history, but not as its last update.
# Every post is due for review this long after its last review (or its
# publication); a practice in vocabulary.yaml or a post may say otherwise.
kb_review_every = "12 months"
# The repository's web address and branch: each page then links to its source
# in the web editor ("Suggest a change"). Empty: no such link.
kb_repository_url = ""
kb_repository_branch = "main"
kb_history_ignore_commits = [
    "fb719310e4eb25346c0145393677f217eed35ede",  # the import of the first posts, authors and series
]
# Tag, practice, author and archive pages list this many posts per page, then
# continue on further pages (blog/tag/gmp/page/2.html).
kb_posts_per_page = 50
# The glossary and the regulations page list this many posts (the newest)
# under each entry, then say how many more and link a search for them.
kb_posts_per_entry = 10
# Search indexes at most this many pages (posts and glossary entries) in one
# index; a larger site gets several, which the search page asks as one.
kb_search_pages_per_bundle = 5000

# -- sources -----------------------------------------------------------------
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", ".venv", "tests", "README.md", "PERFORMANCE.md", "**/README.md", ".pytest_cache"]
templates_path = ["_templates"]
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_title_to_header = True
myst_heading_anchors = 3
nitpicky = True
# Titles are printed exactly as written (no automatic curly quotes).
smartquotes = False

# -- ABlog -------------------------------------------------------------------
blog_path = "blog"
blog_title = project
blog_feed_archives = True
blog_feed_fulltext = True
blog_feed_length = 20
post_date_format = "%-d %B %Y"
post_date_format_short = "%-d %b %Y"
post_show_prev_next = False
post_auto_orphan = True
# pydata-sphinx-theme ships Font Awesome; saying so keeps the environment
# from being discarded on every build (pydata-sphinx-theme issue 1222).
fontawesome_included = True

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["kb.css"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "footer_start": ["kb-footer.html"],
    "footer_end": [],
    "navbar_center": ["kb-navbar-nav.html"],
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "navbar_end": ["theme-switcher"],
    "search_bar_text": "Search posts...",
    # Components that always print something: the theme need not render each
    # of them an extra time per page to find out whether it is empty.
    "templates_skip_empty_check": [
        "navbar-logo.html",
        "theme-switcher.html",
        "search-button-field.html",
        "kb-footer.html",
        "kb-navbar-nav.html",
        "sidebar-nav-bs.html",
    ],
    "primary_sidebar_end": [],
}
# One rule for every page type: no left sidebar (the top navigation, the
# breadcrumbs and each page's own table of contents are the way around).
html_sidebars = {"**": []}
# No general index: the site has no index entries (search and tags find things).
html_use_index = False

# -- publishing extras (all take the site URL from kb_site_url) ---------------
sitemap_url_scheme = "{link}"
# The search page is reached from a form, the 404 page by mistake.
sitemap_excludes = ["search.html", "404.html"]
ogp_site_name = project
ogp_enable_meta_description = True
# No generated preview images: they would need matplotlib and add nothing here.
ogp_social_cards = {"enable": False}
copybutton_exclude = ".linenos, .gp"
html_favicon = "_static/favicon.svg"
# The theme follows the reader's system setting until they choose.
html_context = {"default_mode": "auto"}
