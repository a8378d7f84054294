"""``make html`` publishes only a site that built without problems (kb/staging.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb import staging

ROOTS = Path(__file__).parent / "roots"
OPTIONS = ("-W", "-n", "--keep-going")
BAD_POST = """\
---
title: "A bad post"
date: 2023-05-03
author: AA
tags: [GMP, Trayning]
practice: Quality Systems
---

The introduction.
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(ROOTS / "test-parity", root)
    return root


def test_a_failed_build_leaves_the_last_good_site_byte_for_byte(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert staging.build(OPTIONS, site) == 0
    published = site / staging.SITE
    assert (published / "posts" / "good.html").is_file()
    before = snapshot(published)
    (site / "posts" / "bad.md").write_text(BAD_POST, encoding="utf-8")
    capsys.readouterr()
    assert staging.build(OPTIONS, site) != 0
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        "1 problem; first: posts/bad.md:5: unknown tag 'Trayning' "
        "(did you mean 'Training'? Or add it to vocabulary.yaml)"
    )
    assert snapshot(published) == before
    # The staging folder holds the failed build, so the next build is incremental.
    assert (site / staging.STAGE / "posts" / "bad.html").is_file()
    (site / "posts" / "bad.md").write_text(BAD_POST.replace(", Trayning", ""), encoding="utf-8")
    assert staging.build(OPTIONS, site) == 0
    assert (published / "posts" / "bad.html").is_file()
    assert not list(published.parent.glob(".html.*")), "no half-published folder is left behind"


def test_publish_replaces_the_site_in_one_step(tmp_path: Path) -> None:
    stage, site = tmp_path / "stage", tmp_path / "html"
    stage.mkdir()
    site.mkdir()
    (stage / "index.html").write_text("new", encoding="utf-8")
    (site / "index.html").write_text("old", encoding="utf-8")
    (site / "gone.html").write_text("old", encoding="utf-8")
    staging.publish(stage, site)
    assert snapshot(site) == {"index.html": b"new"}
    assert snapshot(stage) == {"index.html": b"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["html", "stage"]


def test_warnings_become_file_line_problems() -> None:
    log = (
        "/srv/kb/posts/a.md:3: WARNING: date 'x' is not an ISO 8601 date (write YYYY-MM-DD) [kb.content]\n"
        "WARNING: a warning with no place\n"
        "some other line\n"
    )
    found = staging.problems(log, Path("/srv/kb"))
    assert found == ["posts/a.md:3: date 'x' is not an ISO 8601 date (write YYYY-MM-DD)", "a warning with no place"]
    assert staging.summary(found) == f"2 problems; first: {found[0]}"
