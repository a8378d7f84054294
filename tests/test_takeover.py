"""A load of the content that takes over from the last one finds exactly what a fresh load finds.

The preview's builds load the content again after each save, taking over from
the load before them each post and page whose file has not changed
(``previous`` in :func:`kb.model.load` and :func:`kb.rules.check`).  Here each
step of an editing session changes one thing, and the model and the problems
of a load that takes over are compared with those of a fresh load: whatever
the step, they must be the same, and the step must have changed something.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kb import model, rules

NOW = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)
VOCABULARY = "tags:\n  GMP: {description: Good practice.}\n  GDP: {description: Distribution.}\n"
SETTINGS = rules.Settings.of({"myst_heading_anchors": 2})
#: A distinct modification time for every write: a test writes faster than the clock ticks.
TICKS = itertools.count()


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    moment = time.time_ns() - 3_600_000_000_000 + next(TICKS) * 1_000_000  # settled, and unique
    os.utime(path, ns=(moment, moment))


def post(title: str, body: str, *, date: str = "2024-05-01", tags: str = "GMP", more: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}\nauthor: MR\ntags: {tags}\n{more}---\n\n# {title}\n\n{body}\n"


def site(root: Path) -> None:
    write(root, "vocabulary.yaml", VOCABULARY)
    write(root, "authors/MR.md", "---\nname: Mark Roache\n---\n\nBio.\n")
    write(root, "index.md", "# Home\n\nThe knowledge base.\n")
    alpha = "See [the method](b.md#the-method) and ![chart](chart.png)."
    write(root, "posts/a.md", post("Alpha", alpha, more="reviewed:\n  - {by: MR, on: 2024-06-02}\n"))  # tomorrow
    write(root, "posts/b.md", post("Beta", "## Background\n\nText."))
    write(root, "posts/c.md", post("Gamma", "Text.", date="2024-06-01T18:00:00Z"))  # scheduled until 18:00


def loaded(root: Path, now: dt.datetime, previous: tuple[model.Site, rules.Pages] | None = None):
    """The model and problems of *root*, taking over from *previous* if given; with its pages."""
    site = model.load(root, include_held=True, now=now, previous=previous[0] if previous else None)
    pages = rules.read(site, SETTINGS, previous=previous[1] if previous else None)
    found = rules.check(site, SETTINGS, include_held=True, parsed=pages, previous=previous[1] if previous else None)
    return site, pages, sorted({*site.problems, *found})


def saving(name: str, text: str) -> Callable[[Path], None]:
    return lambda root: write(root, name, text)


LATER, TOMORROW = NOW + dt.timedelta(hours=7), NOW + dt.timedelta(days=1)
#: Each step of the session: what it does to the site, and the moment of the load after it.
STEPS: list[tuple[str, Callable[[Path], None], dt.datetime]] = [
    ("a post's body gains a bad link", saving("posts/b.md", post("Beta", "## Background\n\n[x](nowhere.md)")), NOW),
    ("a section the other post links to appears", saving("posts/b.md", post("Beta", "## The method\n\nText.")), NOW),
    ("the image a post shows is added", saving("posts/chart.png", "an image"), NOW),
    ("a post names an unknown tag", saving("posts/b.md", post("Beta", "## The method", tags="GXP")), NOW),
    ("the vocabulary gains that tag", saving("vocabulary.yaml", VOCABULARY + "  GXP: {description: X.}\n"), NOW),
    ("a post is added, linking an unknown one", saving("posts/d.md", post("Delta", "[y](e.md)")), NOW),
    ("the post it links is added", saving("posts/e.md", post("Epsilon", "Text.")), NOW),
    ("a post is deleted", lambda root: (root / "posts/e.md").unlink(), NOW),
    ("a scheduled post's date passes, the same day", lambda root: None, LATER),
    ("a post takes the title of another", saving("posts/d.md", post("Alpha", "Text.")), LATER),
    ("a day passes: a post's review is no longer in the future", lambda root: None, TOMORROW),
]


def test_a_load_that_takes_over_finds_what_a_fresh_load_finds(tmp_path: Path) -> None:
    site(tmp_path)
    now = NOW
    last = loaded(tmp_path, now)
    for what, change, now in STEPS:
        change(tmp_path)
        fresh_site, _, fresh = loaded(tmp_path, now)
        taken_site, taken_pages, taken = loaded(tmp_path, now, last[:2])
        assert (taken_site, taken) == (fresh_site, fresh), what
        assert (fresh_site, fresh) != (last[0], last[2]), f"{what}: the step changed nothing"
        last = (taken_site, taken_pages, taken)


def test_unchanged_files_are_taken_over_and_changed_ones_read_again(tmp_path: Path) -> None:
    site(tmp_path)
    first_site, first_pages, _ = loaded(tmp_path, NOW)
    write(tmp_path, "posts/b.md", post("Beta", "## Background\n\nNew text."))
    second_site, second_pages, _ = loaded(tmp_path, NOW, (first_site, first_pages))
    assert second_site.posts["posts/a"] is first_site.posts["posts/a"]
    assert second_pages.items["posts/a.md"] is first_pages.items["posts/a.md"]
    assert second_pages.texts["posts/b.md"] != first_pages.texts["posts/b.md"]
    assert second_pages.seen is not None
    assert first_pages.seen is not None
    assert second_pages.seen.checked["posts/a.md"] is first_pages.seen.checked["posts/a.md"]


def test_a_file_changed_just_now_is_never_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its timestamp may not change with its next save (the clock's resolution): it is read again."""
    site(tmp_path)
    (tmp_path / "posts/b.md").write_text(post("Beta", "Saved just now."), encoding="utf-8")
    first_site, first_pages, _ = loaded(tmp_path, NOW)
    second_site, second_pages, _ = loaded(tmp_path, NOW, (first_site, first_pages))
    assert second_site.posts["posts/b"] is not first_site.posts["posts/b"]
    assert second_pages.items["posts/b.md"] is not first_pages.items["posts/b.md"]
    assert second_site.posts["posts/a"] is first_site.posts["posts/a"]
