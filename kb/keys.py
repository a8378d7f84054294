"""What a written page or feed depends on, as digests: the keys of the caches
that let a rebuild leave unchanged pages and feeds as they are."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from kb import __version__

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def build_key(app: Sphinx) -> str:
    """The settings and templates every page depends on, worked out once per
    build (finding the newest template walks every template folder)."""
    known = app.builder.__dict__.get("kb_build_key")
    if known is None:
        info = getattr(app.builder, "build_info", None)
        templates = getattr(app.builder, "templates", None)
        newest = templates.newest_template_mtime() if templates is not None else 0
        parts = (__version__, getattr(info, "config_hash", ""), getattr(info, "tags_hash", ""), newest)
        known = app.builder.__dict__["kb_build_key"] = repr(parts)
    return known


def digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()
