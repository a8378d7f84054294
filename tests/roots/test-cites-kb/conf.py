"""Another Sphinx project that cites the knowledge base through its inventory (objects.inv).

The inventory's location comes from the environment (the test points it at a
built site); a real project names the published address twice.
"""

import os

from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole

project = "Cites the knowledge base"
extensions = ["sphinx.ext.intersphinx"]
intersphinx_mapping = {"kb": ("https://kb.qxp.example/", os.environ["KB_INVENTORY"])}
intersphinx_disabled_reftypes = ["*"]  # every reference to the knowledge base names it

# The knowledge base's kinds of objects, so that {external+kb:kb:post}`...` resolves.
KINDS = ("post", "author", "series", "part", "tag", "practice", "term")


class KnowledgeBase(Domain):
    name = "kb"
    label = "Knowledge base"
    object_types = {kind: ObjType(kind, kind) for kind in KINDS}  # noqa: RUF012
    roles = {kind: XRefRole() for kind in KINDS}  # noqa: RUF012


def setup(app):  # noqa: ANN001, ANN201
    app.add_domain(KnowledgeBase)
