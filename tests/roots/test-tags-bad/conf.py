import sys
from pathlib import Path

# The repository root when built in place (pytest copies roots elsewhere and
# already has the root on sys.path).
sys.path[:0] = [str(p) for p in Path(__file__).resolve().parents if (p / "kb" / "__init__.py").is_file()][:1]

project = "Bad tags test"
extensions = ["myst_parser", "sphinx_design", "ablog", "kb"]
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_title_to_header = True
kb_site_url = "https://kb.test/"
blog_path = "blog"
post_auto_orphan = True
fontawesome_included = True
html_theme = "basic"
