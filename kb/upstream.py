"""Workarounds for upstream behaviour, each small, named and tested.

Every function here names the upstream problem it works around; delete it when
upstream fixes that problem.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb import __version__

if TYPE_CHECKING:
    from collections.abc import Set

    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment


def ablog_parallel_read(app: Sphinx) -> None:
    """ABlog declares ``parallel_read_safe: False`` although its only per-document
    state, ``env.ablog_posts``, is keyed by docname and purged by ABlog itself; it
    just lacks an ``env-merge-info`` handler (ablog issue 299).  Sphinx then
    reads serially and prints an untyped warning that ``-W`` turns into an error.
    """
    app.extensions["ablog"].parallel_read_safe = True
    app.connect("env-merge-info", merge_ablog_posts)


def merge_ablog_posts(app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment) -> None:
    """Bring the posts a parallel reader found into the main environment."""
    posts = getattr(other, "ablog_posts", {})
    mine = env.__dict__.setdefault("ablog_posts", {})
    for docname in docnames:
        if docname in posts:
            mine[docname] = posts[docname]


def fresh_ablog_state(app: Sphinx, config: Config) -> None:
    """ABlog keeps its posts and collections in state shared by every ``Blog``
    object of the process (``ablog.blog.Blog._dict``), filled by the first Sphinx
    application only; a second build in the same process (tests, a server that
    rebuilds in place) would list the first build's posts and skip its own
    tag pages.  Start each application with empty state.  (Same shared state as
    in ablog issue 316, where a rebuild found it empty.)
    """
    from ablog.blog import Blog

    Blog._dict.clear()


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("ablog")
    ablog_parallel_read(app)
    app.connect("config-inited", fresh_ablog_state, priority=100)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
