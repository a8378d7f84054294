"""Which pages a changed post rewrites: the named record of what pages show of it."""

from __future__ import annotations

import dataclasses
import types
from typing import TYPE_CHECKING

from kb import bench, listings, model

if TYPE_CHECKING:
    from pathlib import Path


def environment(site: model.Site, links: dict[str, list[str]]) -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    """A build's ``(app, env)``, as much of them as ``kb.listings`` reads."""
    posts = {p.docname: {"excerpt": f"First paragraph of {p.title}.", "words": 500} for p in site.published}
    listed = {"index": ["*"], **{a.docname: [f"author:{a.key}"] for a in site.authors.values()}}
    domain = types.SimpleNamespace(posts=posts, listings=listed, per_build=lambda name, make: make(site))
    env = types.SimpleNamespace(kb_site=site, domains={"kb": domain}, all_docs={*site.posts, *listed})
    app = types.SimpleNamespace(builder=types.SimpleNamespace(name="html"), kb_links=links)
    return app, env


def test_a_new_first_paragraph_rewrites_the_post_and_the_listings_that_link_to_it(tmp_path: Path) -> None:
    site = model.load(bench.generate(tmp_path, 12).kb)
    post, other = site.published[0], site.published[1]
    author = site.authors[post.authors[0]].docname
    app, env = environment(site, {author: [post.docname], other.docname: [post.docname], "index": []})
    assert listings.on_env_get_updated(app, env) == []  # the first build writes every page
    assert listings.on_env_get_updated(app, env) == []  # nothing changed
    env.domains["kb"].posts[post.docname]["excerpt"] = "Another first paragraph."
    # The other post links to it without its excerpt (related posts): it is left alone.
    assert listings.on_env_get_updated(app, env) == sorted({post.docname, author})
    record = env.kb_listed[post.docname]
    assert record.excerpt == "Another first paragraph." and record.version == listings.Listed.VERSION
    moved = dataclasses.replace(record, tags=("Auditing",))
    assert record.same_but(moved, frozenset({"tags"})) and record.placement != moved.placement


def test_records_kept_by_another_version_rewrite_every_page_that_shows_posts(tmp_path: Path) -> None:
    site = model.load(bench.generate(tmp_path, 12).kb)
    app, env = environment(site, {})
    listings.on_env_get_updated(app, env)
    # As an older version kept them: a tuple per post, read by position.
    env.kb_listed = {d: tuple(dataclasses.astuple(r)[:13]) for d, r in env.kb_listed.items()}
    pages = set(listings.on_env_get_updated(app, env))
    assert pages == {p.docname for p in site.published} | set(env.domains["kb"].listings)
    assert listings.on_env_get_updated(app, env) == []  # now kept as records of this version
