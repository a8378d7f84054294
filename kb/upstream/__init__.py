"""Where the knowledge base works around upstream packages, one module per package.

Each workaround is one function, named after what it gives, whose docstring
names the upstream issue or pull request it waits for and the measured gain.
Before it changes anything, it asks :func:`require` for its target: a release
outside the range it was written for, or a target that is gone or has another
shape, is reported as a ``kb.upstream`` warning naming the workaround, so a
strict build (``make html``) fails instead of running without it.  The table
in ``kb/upstream/README.md`` lists every workaround with its link, versions and
test; ``make test-upstream`` runs the tests against the newest releases.
"""

from __future__ import annotations

import inspect
import platform
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from sphinx.util import logging

from kb import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sphinx.application import Sphinx

logger = logging.getLogger(__name__)


def installed(name: str) -> str | None:
    """The installed release of distribution *name* ("Python": the interpreter), or None."""
    if name.lower() == "python":
        return platform.python_version()
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def shape_problem(owner: Any, attribute: str, parameters: Sequence[str] | None) -> str | None:
    """What is wrong with *owner*'s *attribute* for a workaround, or None."""
    if not hasattr(owner, attribute):
        return "no longer exists"
    if parameters is None:
        return None
    try:
        found = list(inspect.signature(getattr(owner, attribute)).parameters)
    except (TypeError, ValueError):
        return "has parameters that cannot be read"
    if found != list(parameters):
        return f"takes ({', '.join(found)}) instead of ({', '.join(parameters)})"
    return None


def name_of(owner: Any) -> str:
    """How a warning names *owner*: a module or class by its dotted name, an object by its class."""
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}"
    return getattr(owner, "__name__", None) or type(owner).__name__


def require(owner: Any, attribute: str, *, versions: str, parameters: Sequence[str] | None = None) -> Any:
    """``owner.attribute``, for the workaround that calls this; None if it cannot be applied.

    *versions* is the range of releases the workaround was written for, as a
    requirement (``"Sphinx>=9.0,<9.1"``; ``"Python"`` names the interpreter);
    *parameters*, if given, are the names the callable must take, in order.
    A release outside the range is reported, and the workaround still applied
    when its target has the expected shape; a target that is missing or has
    another shape is reported, and None returned, so that the workaround
    leaves upstream alone.
    """
    workaround = sys._getframe(1).f_code.co_name
    target = f"{name_of(owner)}.{attribute}"
    wanted = Requirement(versions)
    found = installed(wanted.name)
    if found is None or not wanted.specifier.contains(found, prereleases=True):
        logger.warning(
            "upstream workaround %s was written for %s, but %s %s is installed: check whether it is still "
            "needed and still fits %s (kb/upstream/README.md), then widen its range or remove it",
            workaround,
            versions,
            wanted.name,
            found or "(none)",
            target,
            type="kb",
            subtype="upstream",
        )
    problem = shape_problem(owner, attribute, parameters)
    if problem is None:
        return getattr(owner, attribute)
    logger.warning(
        "upstream workaround %s is not applied: %s, which it changes, %s (kb/upstream/README.md says what to do)",
        workaround,
        target,
        problem,
        type="kb",
        subtype="upstream",
    )
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    from kb.upstream import ablog, python, sitemap, sphinx

    app.setup_extension("ablog")
    python.collect_garbage_less_often(app)
    sphinx.pagefind_replaces_search(app)
    sphinx.read_few_documents_serially(app)
    sphinx.parallel_work_in_fewer_chunks(app)
    sphinx.readers_fork_before_any_merge(app)
    sphinx.remove_pages_of_deleted_documents(app)
    sphinx.feed_fragments_written_as_pages(app)
    sphinx.read_pages_written_first(app)
    sphinx.environment_pickled_aside(app)
    ablog.read_in_parallel(app)
    ablog.fresh_state_per_build(app)
    ablog.lean_post_records(app)
    ablog.collection_pages_when_changed(app)
    ablog.authors_are_profiles(app)
    sitemap.every_page_encoded(app)
    return {"version": __version__, "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
