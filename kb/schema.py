"""The front-matter schema as a table, for the authoring guide.

``{kb-schema} post`` (or ``author``, ``series``) renders the keys the content
model accepts, straight from :data:`kb.model.POST_KEYS` and its siblings, so
the guide can never disagree with what ``make check`` and the build enforce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from kb import __version__, model

if TYPE_CHECKING:
    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)

#: The schemas a page can show, by the name given to the directive.
SCHEMAS: dict[str, dict[str, tuple[bool, str]]] = {
    "post": model.POST_KEYS,
    "author": model.AUTHOR_KEYS,
    "series": model.SERIES_KEYS,
}
HEADINGS = ("Key", "Required", "Type", "What it holds")


def cell(*children: nodes.Node) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph("", "", *children)
    return entry


def schema_table(schema: dict[str, tuple[bool, str]]) -> nodes.table:
    """One row per key: name, required or not, type and meaning."""
    table = nodes.table(classes=["kb-schema"])
    group = nodes.tgroup(cols=len(HEADINGS))
    table += group
    for width in (15, 10, 25, 50):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    heading = nodes.row()
    head += heading
    for text in HEADINGS:
        heading += cell(nodes.Text(text))
    body = nodes.tbody()
    group += body
    for key, (required, meaning) in schema.items():
        row = nodes.row()
        row += cell(nodes.literal(key, key))
        row += cell(nodes.Text("yes" if required else "no"))
        row += cell(nodes.Text(model.KEY_TYPES.get(key, "")))
        row += cell(nodes.Text(meaning))
        body += row
    return table


class SchemaDirective(SphinxDirective):
    """``{kb-schema} post``: the keys of one kind of front matter, as a table."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0].strip()
        schema = SCHEMAS.get(name)
        if schema is None:
            logger.warning(
                "unknown schema %r (%s)",
                name,
                model.did_you_mean(name, SCHEMAS),
                location=self.get_location(),
                type="kb",
                subtype="schema",
            )
            return []
        return [schema_table(schema)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("kb-schema", SchemaDirective)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
