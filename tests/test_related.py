"""The related-posts rule gives the answer of its plain statement, without its quadratic cost."""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict

import pytest

from kb import related


def plainly(given: related.RelatedInput, limit: int = related.RELATED_LIMIT) -> dict[str, tuple[str, ...]]:
    """The rule as written in :func:`kb.related.related_posts`' first sentence: count
    every shared tag of every other post, leave out the own series, most shared then newest."""
    by_tag: dict[str, list[str]] = defaultdict(list)
    rank, series = {}, {}
    for position, (docname, tags, key) in enumerate(given.candidates):
        rank[docname], series[docname] = position, key
        for tag in tags:
            by_tag[tag].append(docname)
    out = {}
    for docname, tags, key in given.subjects:
        shared: Counter[str] = Counter()
        for tag in tags:
            shared.update(by_tag.get(tag, ()))
        shared.pop(docname, None)
        allowed = [d for d in shared if not key or series[d] != key]
        out[docname] = tuple(heapq.nsmallest(limit, allowed, key=lambda d: (-shared[d], rank[d])))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_related_posts_are_those_of_the_plain_rule(seed: int) -> None:
    rng = random.Random(seed)
    tags = [f"tag {number}" for number in range(rng.randint(1, 12))]
    posts = [
        (f"posts/p{number}", tuple(rng.sample(tags, rng.randint(1, min(len(tags), 8)))), rng.choice([None, "a", "b"]))
        for number in range(rng.randint(0, 80))
    ]
    # A draft (a subject, never a candidate), in a series or not.
    subjects = (*posts, ("posts/draft", tuple(rng.sample(tags, 1)), rng.choice([None, "a"])))
    given = related.RelatedInput("rule", tuple(posts), subjects)
    found = related.related_posts(given)
    assert found == plainly(given)
    if len(posts) > 20:
        assert any(len(shown) == related.RELATED_LIMIT for shown in found.values())
