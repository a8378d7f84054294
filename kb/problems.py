"""Each problem reported once, and shown in the preview.

:mod:`kb.content` reports every problem of the content model and of the rules
(:mod:`kb.rules`) at start-up.  The same mistake often makes Sphinx, MyST or a
later check of our own complain again (a bad date also breaks MyST's reading of
the front matter, and then its heading levels; a refused node is refused again
when the page is read); those follow-on messages would only hide the first
one.  So once a file has a reported problem, later warnings located in that
file are dropped: the build still fails on the first report, and anything else
shows once the reported problems are fixed.

In a preview build (``make serve``, ``make html-drafts``) every page of a file
with problems starts with them (``file:line``, the message and the fix), every
page links the list of all problems (``kb-problems.html``), and a page is
written again whenever its problems change, so it clears once they are fixed.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging as sphinx_logging

from kb import __version__

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from kb import model

logger = sphinx_logging.getLogger(__name__)

#: The page listing every problem, in preview builds.
PROBLEMS_PAGE = "kb-problems"


def absolute(path: str | Path) -> str:
    """One spelling of a file's path, whichever way a warning names it."""
    return str(Path(path).resolve())


class FollowOnFilter(logging.Filter):
    """Drop warnings located in a file whose problems are already reported."""

    def __init__(self, app: Sphinx, flagged: frozenset[str]) -> None:
        super().__init__()
        self.app = app
        self.flagged = flagged
        self.reporting = False

    def path_of(self, location: Any) -> str | None:
        """The absolute path of a warning's location (a node, ``(docname, line)`` or ``'path:line'``)."""
        if isinstance(location, nodes.Node):
            location = sphinx_logging.get_node_location(location)
        if isinstance(location, tuple):
            docname = location[0]
            env = getattr(self.app, "env", None)
            if env is None or docname is None:
                return None
            try:
                return absolute(env.doc2path(docname))
            except Exception:  # a docname Sphinx does not know: keep the warning
                return None
        if isinstance(location, str):
            path = Path(location.rsplit(":", 1)[0] if ":" in location else location)
            if not path.is_absolute() and getattr(self.app, "env", None) is not None:
                try:
                    return absolute(self.app.env.doc2path(str(path)))
                except Exception:  # not a docname
                    return absolute(Path(self.app.srcdir, path))
            return absolute(path)
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.reporting or record.levelno < logging.WARNING or not self.flagged:
            return True
        return self.path_of(getattr(record, "location", None)) not in self.flagged


def report(problem: model.Problem, srcdir: str, *, error: bool = True) -> None:
    """Log *problem* as a located, typed warning (``-W`` turns it into a failure);
    one that is not an *error* is logged as located information, which never fails."""
    log = logger.warning if error else logger.info
    log(
        "%s%s%s",
        "" if error else "warning: ",
        problem.message,
        f" ({problem.fix})" if problem.fix else "",
        location=f"{Path(srcdir) / problem.path}:{problem.line}",
        type="kb",
        subtype=problem.kind,
    )


def install(app: Sphinx, problems: list[model.Problem], warnings: list[model.Problem]) -> None:
    """Report *problems* once each and *warnings* as information (unless :func:`held`: a later
    install will), then drop follow-on warnings in the files of the problems."""
    # On Sphinx's handlers, ahead of the filter that counts warnings for -W:
    # a logger's own filters do not see the records of its child loggers.
    handlers = logging.getLogger(sphinx_logging.NAMESPACE).handlers
    srcdir = Path(app.srcdir)
    flagged = frozenset(absolute(srcdir / p.path) for p in problems)
    follow_on = FollowOnFilter(app, flagged)
    for handler in handlers:
        handler.filters[:] = [follow_on, *(f for f in handler.filters if not isinstance(f, FollowOnFilter))]
    follow_on.reporting = True
    try:
        for problem in problems if not held(app) else ():
            report(problem, str(srcdir))
    finally:
        follow_on.reporting = False
    for warning in warnings if not held(app) else ():
        report(warning, str(srcdir), error=False)
    app.kb_problems = problems  # type: ignore[attr-defined]


def hold(app: Sphinx, *, until_asked: bool) -> None:
    """Hold back (or no longer) the reports of :func:`install`: a preview build set up before
    the save reports the content as it is once asked to build (:mod:`kb.standby`)."""
    app.kb_problems_held = until_asked  # type: ignore[attr-defined]


def held(app: Sphinx) -> bool:
    return getattr(app, "kb_problems_held", False)


def problems_of(app: Sphinx) -> list[model.Problem]:
    return getattr(app, "kb_problems", [])


def shown(app: Sphinx) -> bool:
    """Problems are shown in the pages of preview builds only."""
    return bool(app.config.kb_include_drafts) and app.builder.format == "html"


# -- the preview ----------------------------------------------------------------


def by_file(problems: list[model.Problem]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(problem.path, []).append(str(problem))
    return {path: tuple(lines) for path, lines in found.items()}


def on_env_get_outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Write again the pages whose problems changed, so a fixed problem leaves the page."""
    if not shown(app):
        return []
    now = by_file(problems_of(app))
    before: dict[str, tuple[str, ...]] = getattr(env, "kb_shown_problems", {})
    env.kb_shown_problems = now  # type: ignore[attr-defined]
    stale = {path for path in now.keys() | before.keys() if now.get(path) != before.get(path)}
    docnames = []
    for docname in env.found_docs:
        if env.doc2path(docname, base=False).as_posix() in stale:
            docnames.append(docname)
    return sorted(docnames)


def items_html(lines: tuple[str, ...] | list[str]) -> str:
    """Each problem as a list item: ``file:line`` in code, then the message and the fix."""
    out = []
    for line in lines:
        where, _, rest = line.partition(": ")
        out.append(f"<li><code>{escape(where)}</code> {escape(rest)}</li>")
    return "<ul>" + "".join(out) + "</ul>"


def banner(app: Sphinx, pagename: str, own: tuple[str, ...]) -> str:
    """The top of a previewed page: its problems, if any, and a link to all of them."""
    link = app.builder.get_target_uri(PROBLEMS_PAGE)
    relative = app.builder.get_relative_uri(pagename, PROBLEMS_PAGE) if link else f"{PROBLEMS_PAGE}.html"
    every = f'<p class="kb-problems-all"><a href="{escape(relative)}">Content check: every problem in the site</a></p>'
    if not own:
        return f'<div class="kb-problems-link">{every}</div>'
    title = f"{len(own)} problem{'s' if len(own) != 1 else ''} in this page (the published build fails until fixed)"
    return (
        f'<div class="admonition error kb-problems" role="alert"><p class="admonition-title">{escape(title)}</p>'
        f"{items_html(own)}{every}</div>"
    )


def on_html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: nodes.document | None
) -> None:
    """Put a page's problems at its top, in preview builds."""
    if not shown(app) or doctree is None or "body" not in context:
        return
    own = by_file(problems_of(app)).get(app.env.doc2path(pagename, base=False).as_posix(), ())
    context["body"] = banner(app, pagename, own) + context["body"]


def on_html_collect_pages(app: Sphinx) -> Iterator[tuple[str, dict[str, Any], str]]:
    """The list of every problem, in preview builds."""
    if not shown(app):
        return
    problems = problems_of(app)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        body = f"<h1>Content check: {count}</h1>{items_html([str(p) for p in problems])}"
    else:
        body = "<h1>Content check: no problems</h1><p>Every page passes <code>make check</code>.</p>"
    yield PROBLEMS_PAGE, {"title": "Content check", "body": f'<div class="kb-problems-page">{body}</div>'}, "page.html"


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-outdated", on_env_get_outdated)
    app.connect("html-page-context", on_html_page_context)
    app.connect("html-collect-pages", on_html_collect_pages)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
