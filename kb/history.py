"""When each page last changed, and how: read from the repository's history.

Every post, author, series and other page shows "Last updated <date>" from
the last commit that changed its source file, and a post lists its changes
(date, who, the commit's subject) in a collapsible "History".  Commits named
in ``kb_history_ignore_commits`` (an import, a mass reformatting) stay in the
history but do not count as an update.  Where git cannot tell (no repository,
a shallow clone, a file not yet committed) a page shows its front matter's
dates instead, and the build prints one notice saying how to get the history.

The same dates reach feeds (``<updated>``) and the sitemap (``<lastmod>``,
through :func:`kb.upstream.sitemap.every_page_encoded`).

The history is read with one ``git log`` over the site's Markdown files per
new commit: the result is kept in the doctree folder under the commit ``HEAD``
names, which is read from the repository's files, so a rebuild with no new
commit runs no git command at all.  Previews (``make serve``) also ask git
which files changed since the last commit, and say so on those pages.

Why not ``sphinx-last-updated-by-git``: it gives one date per page, not the
changes themselves (who and why), and runs git in every build.

A page whose history changes (a new commit, a file edited in a preview) is
written again (``env-get-updated``), so incremental builds stay right.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging

from kb import __version__, stamped

if TYPE_CHECKING:
    from collections.abc import Set

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment
    from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)

#: Kept in the doctree folder, so that ``make clean`` removes it with the rest.
CACHE = "kb-history.pickle"
#: Separators of ``git log``'s output: a record per commit, a field per value.
RECORD, FIELD = "\x1e", "\x1f"
LOG_FORMAT = f"{RECORD}%H{FIELD}%aI{FIELD}%an{FIELD}%s"
#: A notice, printed once, when git cannot tell when pages changed.
HOW_TO_FIX = "pages show the dates in their front matter. For real dates, build from a full clone"


@dataclass(frozen=True)
class Change:
    """One commit that changed a file."""

    commit: str
    date: dt.datetime
    author: str
    subject: str


@dataclass(frozen=True)
class History:
    """What git knows of the site's files: each file's changes, newest first.

    *missing* says why there is no history (then *changes* is empty)."""

    head: str | None = None
    changes: dict[str, tuple[Change, ...]] = field(default_factory=dict)
    missing: str | None = None
    #: Files with changes not yet committed (only asked for in previews).
    uncommitted: frozenset[str] = frozenset()

    def of(self, path: str) -> tuple[Change, ...]:
        return self.changes.get(path, ())

    def last_update(self, path: str, ignored: Set[str]) -> Change | None:
        """The newest change of *path* that is not an ignored commit."""
        return next((c for c in self.of(path) if not is_ignored(c.commit, ignored)), None)


def is_ignored(commit: str, ignored: Set[str]) -> bool:
    """Whether *commit* is one of *ignored*, given in full or abbreviated (7+ characters)."""
    return any(commit.startswith(prefix) for prefix in ignored)


# -- the repository, from its files ------------------------------------------


@dataclass(frozen=True)
class Repository:
    top: Path  # the working tree's top folder
    git_dir: Path  # this working tree's git folder
    common_dir: Path  # the folder shared by all working trees (refs, objects, shallow)

    @property
    def shallow(self) -> bool:
        return (self.common_dir / "shallow").is_file()

    def head(self) -> str | None:
        """The commit ``HEAD`` names, read from the files (no git command); None before the first commit."""
        try:
            head = (self.git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not head.startswith("ref:"):
            return head or None
        ref = head.removeprefix("ref:").strip()
        for base in (self.git_dir, self.common_dir):
            with_ref = base / ref
            if with_ref.is_file():
                return with_ref.read_text(encoding="utf-8").strip() or None
        try:
            packed = (self.common_dir / "packed-refs").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in packed.splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
        return None


def find_repository(folder: Path) -> Repository | None:
    """The git working tree holding *folder*, if any."""
    for top in (folder, *folder.parents):
        dot_git = top / ".git"
        if dot_git.is_dir():
            return Repository(top, dot_git, dot_git)
        if dot_git.is_file():  # a linked working tree: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = (top / text.removeprefix("gitdir:").strip()).resolve()
            common = git_dir / "commondir"
            common_dir = (
                (git_dir / common.read_text(encoding="utf-8").strip()).resolve() if common.is_file() else git_dir
            )
            return Repository(top, git_dir, common_dir)
    return None


def git(repository: Repository, *args: str) -> str | None:
    """Run git in the working tree; None (and a notice) when it cannot run."""
    command = ["git", "-C", str(repository.top), "-c", "core.quotepath=off", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, encoding="utf-8")
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = getattr(exc, "stderr", "") or str(exc)
        logger.info("kb: git %s failed (%s); %s.", args[0], reason.strip().splitlines()[-1:], HOW_TO_FIX)
        return None
    return done.stdout


def parse_log(output: str, prefix: str) -> dict[str, tuple[Change, ...]]:
    """Each file's changes from ``git log --name-only`` output; paths made relative to *prefix*."""
    changes: dict[str, list[Change]] = {}
    for record in output.split(RECORD)[1:]:
        header, _, names = record.partition("\n")
        commit, date, author, subject = header.split(FIELD, 3)
        change = Change(commit, dt.datetime.fromisoformat(date), author, subject)
        for name in names.split("\n"):
            if name and name.startswith(prefix):
                changes.setdefault(name.removeprefix(prefix), []).append(change)
    return {path: tuple(found) for path, found in changes.items()}


def site_prefix(repository: Repository, srcdir: Path) -> str:
    """Where the site lies in the repository, as git names paths: ``""`` or ``"docs/"``."""
    prefix = srcdir.resolve().relative_to(repository.top.resolve()).as_posix()
    return "" if prefix == "." else prefix + "/"


def read_history(srcdir: Path) -> History:
    """The history of the site's files, straight from git."""
    repository = find_repository(srcdir.resolve())
    if repository is None:
        return History(missing="this folder is not in a git repository")
    if repository.shallow:
        return History(missing="this clone is shallow (fetch the whole history: fetch-depth: 0)")
    head = repository.head()
    if head is None:
        return History(missing="the repository has no commit yet")
    prefix = site_prefix(repository, srcdir)
    output = git(repository, "log", f"--format={LOG_FORMAT}", "--name-only", "--no-renames", "HEAD", "--", "*.md")
    if output is None:
        return History(missing="git could not read the history")
    return History(head=head, changes=parse_log(output, prefix))


def uncommitted(srcdir: Path) -> frozenset[str]:
    """Markdown files of the site with changes not yet committed (new files too)."""
    repository = find_repository(srcdir.resolve())
    if repository is None:
        return frozenset()
    output = git(repository, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", "--", "*.md")
    prefix = site_prefix(repository, srcdir)
    names = (entry[3:] for entry in (output or "").split("\0") if len(entry) > 3)
    return frozenset(name.removeprefix(prefix) for name in names if name.startswith(prefix))


def cached_history(srcdir: Path, cache: Path) -> History:
    """:func:`read_history`, run again only when ``HEAD`` names another commit."""
    repository = find_repository(srcdir.resolve())
    key = (__version__, str(srcdir.resolve()), repository.head() if repository else None)
    key_repr = repr(key) + str(repository.shallow if repository else None)
    stamp = hashlib.sha256(key_repr.encode()).hexdigest()
    known = stamped.load(cache, stamp)
    if isinstance(known, History):
        return known
    history = read_history(srcdir)
    if history.head is not None:
        stamped.save(cache, stamp, history)
    return history


# -- the build ---------------------------------------------------------------


def history_of(env: BuildEnvironment) -> History:
    return env.kb_history  # type: ignore[attr-defined,no-any-return]


def on_builder_inited(app: Sphinx) -> None:
    """Read the history once for this build; say so once when there is none."""
    srcdir = Path(app.srcdir)
    history = cached_history(srcdir, Path(app.doctreedir) / CACHE)
    if history.missing:
        logger.info("kb: no history of the pages: %s; %s.", history.missing, HOW_TO_FIX)
    if app.config.kb_include_drafts:
        history = History(history.head, history.changes, history.missing, uncommitted(srcdir))
    app.env.kb_history = history  # type: ignore[attr-defined]


def source_path(env: BuildEnvironment, docname: str) -> str:
    return env.doc2path(docname, base=False).as_posix()


@dataclass(frozen=True)
class PageHistory:
    """What one page shows of its history (kept in the environment, compared each build)."""

    updated: Change | None
    changes: tuple[Change, ...]
    uncommitted: bool


def page_history(env: BuildEnvironment, docname: str) -> PageHistory:
    history, path = history_of(env), source_path(env, docname)
    ignored = frozenset(env.config.kb_history_ignore_commits)
    return PageHistory(history.last_update(path, ignored), history.of(path), path in history.uncommitted)


def on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Write again every page whose history changed since it was last written."""
    shown: dict[str, PageHistory] = env.__dict__.setdefault("kb_page_history", {})
    for docname in set(shown) - env.found_docs:
        del shown[docname]
    outdated = []
    for docname in sorted(env.found_docs):
        now = page_history(env, docname)
        if shown.get(docname) != now:
            shown[docname] = now
            outdated.append(docname)
    return outdated


def last_update_of(env: BuildEnvironment, post: Any) -> dt.datetime | None:
    """When *post* (a content-model post) last changed: its last commit, its ``updated:``
    or its publication, whichever is latest.  Feeds and the sitemap carry it."""
    page = page_history(env, post.docname)
    moments = [m for m in (page.updated.date if page.updated else None, post.updated, post.date) if m is not None]
    return max(moments) if moments else None


# -- what a reader sees ------------------------------------------------------


class details(nodes.General, nodes.Element):  # noqa: N801 - docutils node naming
    """A collapsible block: ``<details>``, its first child the ``summary``."""


class summary(nodes.General, nodes.TextElement):  # noqa: N801 - docutils node naming
    """The always-visible line of a :class:`details` block."""


def visit_details(self: HTML5Translator, node: details) -> None:
    self.body.append(self.starttag(node, "details"))


def depart_details(self: HTML5Translator, node: details) -> None:
    self.body.append("</details>\n")


def visit_summary(self: HTML5Translator, node: summary) -> None:
    self.body.append(self.starttag(node, "summary", suffix=""))


def depart_summary(self: HTML5Translator, node: summary) -> None:
    self.body.append("</summary>\n")


def visit_plain(self: Any, node: nodes.Element) -> None:
    """Other formats show the block's content as it is."""


def last_updated(page: PageHistory, date_format: str) -> nodes.inline | None:
    """ "Last updated <date>", or "changed since the last commit" in a preview."""
    if page.uncommitted:
        text = "Changed since the last commit" if page.changes else "Not yet committed"
        return nodes.inline("", text, classes=["kb-last-updated", "kb-uncommitted"])
    if page.updated is None:
        return None
    text = f"Last updated {page.updated.date.strftime(date_format)}"
    return nodes.inline("", text, classes=["kb-last-updated"])


def history_block(page: PageHistory, date_format: str) -> details | None:
    """The collapsible list of a post's changes, newest first."""
    if not page.changes:
        return None
    count = len(page.changes)
    block = details(classes=["kb-history"])
    block += summary("", f"History ({count} change{'s' if count != 1 else ''})")
    entries = nodes.bullet_list(classes=["kb-history-changes"])
    for change in page.changes:
        item = nodes.paragraph()
        item += nodes.inline("", change.date.strftime(date_format), classes=["kb-date"])
        item += nodes.Text(f" · {change.author} · ")
        item += nodes.inline("", change.subject, classes=["kb-history-subject"])
        entries += nodes.list_item("", item)
    block += entries
    return block


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_history_ignore_commits", [], "env", types=frozenset({list, tuple}))
    plain = (visit_plain, visit_plain)
    for node, html in ((details, (visit_details, depart_details)), (summary, (visit_summary, depart_summary))):
        app.add_node(node, html=html, latex=plain, text=plain, man=plain, texinfo=plain)
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-get-updated", on_env_get_updated)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
