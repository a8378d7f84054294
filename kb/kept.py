"""What an extension keeps of each document, and when the pages that list it are written again.

The glossary keeps the terms each document links to, the citations the
regulations each one cites; each then has pages listing them across the site.
Both keep their records the same way, so the one way lives here:

* :class:`PerDocument`: a record per document in the environment, purged with
  the document and merged from parallel readers, so ``-j auto`` and
  incremental builds see what a full build sees;
* :func:`rewritten`: the pages to write again (``env-get-updated``) when what
  they list differs from what the last build listed, found by a flag in their
  metadata (:func:`kb.domain.pages_marked`).

Every name kept this way is listed in :mod:`kb.domain`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb.domain import pages_marked

if TYPE_CHECKING:
    from collections.abc import Set

    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment


class PerDocument:
    """``env.<name>``: docname -> what reading that document found."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, env: BuildEnvironment) -> dict[str, Any]:
        return env.__dict__.setdefault(self.name, {})  # type: ignore[no-any-return]

    def connect(self, app: Sphinx) -> None:
        """Purge a document's record when it is read again or removed; merge parallel readers'."""
        app.connect("env-purge-doc", self.on_env_purge_doc)
        app.connect("env-merge-info", self.on_env_merge_info)

    def on_env_purge_doc(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        self(env).pop(docname, None)

    def on_env_merge_info(
        self, app: Sphinx, env: BuildEnvironment, docnames: Set[str], other: BuildEnvironment
    ) -> None:
        theirs = self(other)
        self(env).update((docname, theirs[docname]) for docname in docnames if docname in theirs)


def rewritten(env: BuildEnvironment, name: str, shown: object, flag: str) -> list[str]:
    """The pages whose metadata sets *flag* if what they list (*shown*) changed since the last build.

    *shown* is kept as ``env.<name>`` for the next build to compare with.
    """
    before = env.__dict__.get(name)
    env.__dict__[name] = shown
    return [] if shown == before else pages_marked(env, flag)
