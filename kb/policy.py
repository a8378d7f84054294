"""The content policy, enforced on the document tree: nothing refused is written.

A post is text written by a colleague and read by every other colleague; it
must not be able to run code in their browsers, publish a file from outside the
repository, or take over another page.  So, while a document is read:

- raw HTML (a Markdown HTML block or inline tag, the ``raw`` directive) and
  ``{eval-rst}`` blocks are refused;
- links and images may only use http, https, mailto or a relative target
  (``javascript:``, ``data:``, ``vbscript:``... are refused), and images and
  downloads must be files inside the repository;
- ``{include}``, ``{literalinclude}`` and ``{csv-table}`` read only files inside
  the repository (hidden folders such as ``.git`` excluded);
- ``<meta http-equiv>`` (from ``html_meta`` or ``{meta}``) is refused: it can
  send the reader to another site;
- ABlog's ``{post}`` directive and its ``blogpost``/``redirect``/
  ``external_link``/``canonical_link`` front matter are refused: a post is a
  file in ``posts/`` described by the front matter of :mod:`kb.model`.
  ABlog's ``redirect:`` writes an HTML page at any path it is given (it can
  replace the home page, or a file outside the output folder), so the site
  does not support it: move a post by keeping its file name.

Each label names one target: two documents defining it (or a post named like
another page's label, which ABlog overwrites silently) are refused too.

The rules of :mod:`kb.rules` find these problems in the Markdown, for ``make
check`` and at the start of the build, and report them once.  Here, while a
document is read, the offending node is removed (raw HTML is kept as visible
text), so even a lenient preview build publishes nothing the policy refuses.
A violation is also a located ``kb.policy`` warning naming the fix; in a file
whose problems the rules have reported it is a follow-on and is dropped
(:mod:`kb.problems`), so it shows only for what the rules cannot see (a
reStructuredText page, ``html_meta`` set in ``conf.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ablog.post import UpdateDirective
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.directives.code import LiteralInclude
from sphinx.directives.other import Include
from sphinx.directives.patches import CSVTable
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, model
from kb.content import post_of, site_of
from kb.rules.pages import (
    ALLOWED_SCHEMES,
    IMAGE_FIX,
    IMAGE_SCHEMES,
    NO_HTML,
    SAFE_LINKS,
    inside,
    scheme_of,
    update_date,
)

if TYPE_CHECKING:
    from collections.abc import Set

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: Front matter ABlog would act on in any document; dropped before ABlog reads it.
ABLOG_ONLY_KEYS = frozenset({"blogpost", "redirect", "external_link", "canonical_link"})


def refuse(message: str, fix: str, location: Any) -> None:
    """Report one policy violation as a located ``kb.policy`` warning."""
    logger.warning("%s (%s)", message, fix, location=location, type="kb", subtype="policy")


def location_of(node: nodes.Node, env: BuildEnvironment) -> Any:
    """The node when it knows its line, else the document being read."""
    if node.line or (node.parent is not None and node.parent.line):
        return node if node.line else node.parent
    return (env.docname, node.line or 1)


# -- directives --------------------------------------------------------------


class RefusedDirective(SphinxDirective):
    """A directive the site does not support; says why, and what to write instead."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    reason = ""
    fix = ""

    def run(self) -> list[nodes.Node]:
        refuse(f"the {{{self.name}}} directive is not allowed: {self.reason}", self.fix, self.get_location())
        return []


class RawDirective(RefusedDirective):
    option_spec: ClassVar[dict[str, Any]] = {
        "file": directives.unchanged,
        "url": directives.unchanged,
        "encoding": directives.unchanged,
    }
    reason = "raw HTML is published unchecked into pages and feeds"
    fix = "write Markdown; for a table, an image or a box use Markdown or a {grid}/{card} directive"


class PostDirective(RefusedDirective):
    option_spec: ClassVar[dict[str, Any]] = {
        name: directives.unchanged
        for name in (
            "tags", "author", "category", "location", "language", "redirect", "title", "image",
            "excerpt", "exclude", "nocomments", "canonical_link", "external_link",
        )
    }  # fmt: skip
    reason = "a post is a file in posts/ with front matter, and ABlog's redirect and external links are not supported"
    fix = "remove the directive; describe the post in its front matter (title, date, author, tags, practice)"


class SafeLiteralInclude(LiteralInclude):
    """``literalinclude`` that reads only files inside the repository."""

    def run(self) -> list[nodes.Node]:
        for value in (self.arguments[0], self.options.get("diff")):
            if value and not inside(self.env.relfn2path(value)[1], self.env.srcdir):
                refuse(
                    f"{{{self.name}}} of {value!r}: the file is outside the repository (or in a hidden folder)",
                    "copy the file into the repository next to the post and include that copy",
                    self.get_location(),
                )
                return []
        return super().run()


class SafeInclude(SphinxDirective):
    """``include`` that opens only files inside the repository.

    Deliberately not an ``Include`` subclass: MyST runs every ``Include``
    subclass through its own reader, which opens the file before any hook
    could refuse it.  The path is checked first; a file inside the repository
    is then read by MyST's reader as usual (myst_parser.mocking).
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar[dict[str, Any]] = dict(Include.option_spec)

    def run(self) -> list[nodes.Node]:
        from myst_parser.mocking import MockIncludeDirective, MockState

        if not inside(self.env.relfn2path(self.arguments[0])[1], self.env.srcdir):
            refuse(
                f"{{include}} of {self.arguments[0]!r}: the file is outside the repository (or in a hidden folder)",
                "copy the file into the repository next to the post and include that copy",
                self.get_location(),
            )
            return []
        if not isinstance(self.state, MockState):  # a reStructuredText source
            return Include(
                self.name,
                self.arguments,
                self.options,
                self.content,
                self.lineno,
                self.content_offset,
                self.block_text,
                self.state,
                self.state_machine,
            ).run()
        reader = MockIncludeDirective(
            self.state._renderer,
            name=self.name,
            klass=Include,
            arguments=self.arguments,
            options=self.options,
            body=list(self.content),
            lineno=self.lineno,
        )
        return reader.run()


class SafeCSVTable(CSVTable):
    """``csv-table`` that reads only files inside the repository, never a URL."""

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        location = (env.docname, self.state_machine.get_source_and_line(self.lineno)[1])
        if "url" in self.options:
            refuse(
                f"{{{self.name}}} with :url: is not allowed", "save the CSV file next to the post, use :file:", location
            )
            return []
        name = self.options.get("file")
        if name and not inside(env.relfn2path(name)[1], env.srcdir):
            refuse(
                f"{{{self.name}}} :file: {name!r} is outside the repository (or in a hidden folder)",
                "copy the CSV into the repository next to the post",
                location,
            )
            return []
        return super().run()


class CheckedUpdate(UpdateDirective):
    """ABlog's ``{update}`` with its date checked first: ABlog raises on a date it
    cannot read (or one with a timezone, compared with naive post dates), which
    stops the whole build with a traceback.  A bad date is a located error, and
    the note is kept as an ordinary one.
    """

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        text = self.arguments[0].strip()
        if update_date(text, env.config.post_date_format) is not None:
            return super().run()
        refuse(
            f"{{update}} date {text!r} is not a date",
            "write it as YYYY-MM-DD, e.g. ```{update} 2023-05-08",
            (env.docname, self.lineno),
        )
        note = nodes.admonition(classes=["note", "update"])
        note += nodes.title("Update", "Update")
        self.state.nested_parse(self.content, self.content_offset, note)
        return [note]


# -- reading -----------------------------------------------------------------


def on_include_read(app: Sphinx, relative_path: Path, parent_docname: str, content: list[str]) -> None:
    """Drop an included file that is outside the repository before it reaches the page."""
    env = app.env
    location = (env.docname, 1)
    if not inside(Path(env.srcdir, relative_path), env.srcdir):
        refuse(
            f"{{include}} of {relative_path.as_posix()!r}: the file is outside the repository (or in a hidden folder)",
            "copy the file into the repository next to the post and include that copy",
            location,
        )
        content[0] = ""
        return


class ContentPolicy(SphinxTransform):
    """Refuse raw HTML, unsafe link targets and files from outside the repository;
    drop warning text from the document.

    Runs before ABlog takes a post's excerpt (priority 800) and before the
    collectors that copy images and downloads (``doctree-read``), so a refused
    node never reaches a page, a feed or the output folder.
    """

    default_priority = 790

    def apply(self, **kwargs: Any) -> None:
        self.raw_html()
        self.links()
        self.files()
        self.meta()
        if not self.config.keep_warnings:
            # Already logged when they were made; left in, their text becomes
            # the first paragraph, hence the excerpt in listings and feeds.
            for node in list(self.document.findall(nodes.system_message)):
                node.parent.remove(node)
        for docinfo in self.document.findall(nodes.docinfo):
            for field in list(docinfo.findall(nodes.field)):
                if field[0].astext() in ABLOG_ONLY_KEYS:
                    field.parent.remove(field)

    def raw_html(self) -> None:
        """Raw HTML is shown as the text it is."""
        for node in list(self.document.findall(nodes.raw)):
            kind = "inline HTML" if isinstance(node.parent, nodes.TextElement) else "an HTML block"
            refuse(
                f"raw HTML is not allowed ({kind}: {node.astext().strip()[:60]!r})",
                NO_HTML,
                location_of(node, self.env),
            )
            text = node.astext()
            node.replace_self(nodes.Text(text) if kind == "inline HTML" else nodes.literal_block(text, text))

    def links(self) -> None:
        """A link with an unsafe target keeps its text; a target node loses the target."""
        for node in list(self.document.findall(lambda n: isinstance(n, (nodes.reference, nodes.target)))):
            uri = node.get("refuri")
            if uri is None or self.allowed(uri):
                continue
            refuse(f"link target {uri!r} is not allowed", SAFE_LINKS, location_of(node, self.env))
            if isinstance(node, nodes.reference):
                node.replace_self(nodes.inline("", "", *node.children))
            else:
                del node["refuri"]

    def files(self) -> None:
        """Images and downloads come from the repository (or, for images, from http(s) URLs)."""
        env = self.env
        for node in list(self.document.findall(nodes.image)):
            uri = node.get("uri", "")
            scheme = scheme_of(uri)
            outside = not scheme and not inside(env.relfn2path(uri.replace("*", "x"))[1], env.srcdir)
            if (scheme and scheme not in IMAGE_SCHEMES) or outside:
                refuse(f"image {uri!r} is not allowed", IMAGE_FIX, location_of(node, env))
                node.parent.remove(node)
        for node in list(self.document.findall(addnodes.download_reference)):
            target = node.get("reftarget", "")
            if not scheme_of(target) and not inside(env.relfn2path(target)[1], env.srcdir):
                refuse(
                    f"download {target!r} is outside the repository (or in a hidden folder)",
                    "copy the file into the repository next to the post",
                    location_of(node, env),
                )
                node.replace_self(nodes.inline("", "", *node.children))

    def meta(self) -> None:
        for node in list(self.document.findall(nodes.meta)):
            if "http-equiv" in node.attributes:
                refuse(
                    f"meta http-equiv {node['http-equiv']!r} is not allowed (it can redirect or reload the page)",
                    "remove it from html_meta or the {meta} directive; name=description and keywords are fine",
                    location_of(node, self.env),
                )
                node.parent.remove(node)

    @staticmethod
    def allowed(uri: str) -> bool:
        scheme = scheme_of(uri)
        return not scheme or scheme in ALLOWED_SCHEMES


# -- labels: one target per name ----------------------------------------------


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """Remember the labels this document defines, and the label ABlog gives a post."""
    env = app.env
    labels: dict[str, int] = {}
    for name, explicit in doctree.nametypes.items():
        target = doctree.ids.get(doctree.nameids.get(name) or "")
        if explicit:
            labels[name] = (target.line if target is not None else None) or 1
    if post_of(env, env.docname) is not None:
        labels.setdefault(model.post_label(env.docname).lower(), 1)
    env.kb_labels = getattr(env, "kb_labels", {})  # type: ignore[attr-defined]
    env.kb_labels[env.docname] = labels  # type: ignore[attr-defined]


def on_env_purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """Forget the labels of a document that is read again or removed."""
    getattr(env, "kb_labels", {}).pop(docname, None)


def on_env_merge_info(app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment) -> None:
    """Bring the labels a parallel reader found into the main environment."""
    mine = env.__dict__.setdefault("kb_labels", {})
    for docname in docnames:
        if docname in getattr(other, "kb_labels", {}):
            mine[docname] = other.kb_labels[docname]  # type: ignore[attr-defined]


def on_env_check_consistency(app: Sphinx, env: BuildEnvironment) -> None:
    """A label defined twice links to one of them at random (ABlog and parallel reading
    overwrite it without a word), so each label must have one document.
    """
    owners: dict[str, list[tuple[str, int]]] = {}
    for docname, labels in sorted(getattr(env, "kb_labels", {}).items()):
        for label, line in labels.items():
            owners.setdefault(label, []).append((docname, line))
    posts = site_of(env).posts
    for label, places in sorted(owners.items()):
        if all(d in posts and model.post_label(d).lower() == label for d, _ in places):
            continue  # two posts with one file name: the content model has said so
        if len(places) > 1:
            others = ", ".join(env.doc2path(d, base=False).as_posix() for d, _ in places[:-1])
            refuse(
                f"the label {label!r} is also defined in {others}; links to it would reach only one",
                "rename one of the labels (a post's label is its file name)",
                places[-1],
            )


# -- writing -----------------------------------------------------------------


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("kb.content")
    app.add_directive("raw", RawDirective, override=True)
    app.add_directive("post", PostDirective, override=True)
    app.add_directive("literalinclude", SafeLiteralInclude, override=True)
    app.add_directive("csv-table", SafeCSVTable, override=True)
    app.add_directive("include", SafeInclude, override=True)
    app.add_directive("update", CheckedUpdate, override=True)
    app.add_transform(ContentPolicy)
    app.connect("include-read", on_include_read)
    app.connect("doctree-read", on_doctree_read)
    app.connect("env-purge-doc", on_env_purge_doc)
    app.connect("env-merge-info", on_env_merge_info)
    app.connect("env-check-consistency", on_env_check_consistency)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
