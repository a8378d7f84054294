"""One violation of the content policy per file; the build must refuse each."""

import sys
from pathlib import Path

# The repository, when built in place; under pytest the repository is on sys.path already.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))
import kb  # noqa: E402

REPO = Path(kb.__file__).resolve().parent.parent

project = "Hostile"
extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
kb_site_url = "https://kb.test/"
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "posts/left-out.md"]
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
