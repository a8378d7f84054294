"""Periodic review: reading review records, due dates, the queue, and bad input."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

from kb import cli, model, reviews

ROOT = Path(__file__).resolve().parent.parent
D = dt.date


def no_suggestion(name: str) -> str:
    return f"(close to {name}?)"


PUBLISHED, TODAY = D(2023, 1, 10), D(2026, 12, 3)


def parse(value: object) -> tuple[tuple[reviews.Review, ...], list[reviews.Finding]]:
    return reviews.parse_reviews(value, {"BD", "ML"}, no_suggestion, PUBLISHED, TODAY)


@pytest.mark.parametrize(
    ("text", "interval", "added_to_jan_31"),
    [
        ("12 months", reviews.Interval(12, "months"), D(2025, 1, 31)),
        ("1 month", reviews.Interval(1, "months"), D(2024, 2, 29)),
        ("2 years", reviews.Interval(2, "years"), D(2026, 1, 31)),
        ("26 weeks", reviews.Interval(26, "weeks"), D(2024, 7, 31)),
        (" 90 Days ", reviews.Interval(90, "days"), D(2024, 4, 30)),
    ],
)
def test_intervals_read_and_add(text: str, interval: reviews.Interval, added_to_jan_31: D) -> None:
    assert reviews.parse_interval(text) == interval
    assert interval.after(D(2024, 1, 31)) == added_to_jan_31


@pytest.mark.parametrize("text", ["twelve months", "12", "0 months", "12 fortnights", "-1 year", 12, None, ["1 year"]])
def test_what_is_not_an_interval(text: object) -> None:
    assert reviews.parse_interval(text) is None


def test_reviews_read_in_either_form_oldest_first() -> None:
    one, findings = parse({"by": "BD", "on": "2024-06-03"})
    assert findings == [] and one == (reviews.Review("BD", D(2024, 6, 3)),)
    # YAML 1.1 reads the bare key `on` as true.
    two, findings = parse([{"by": "ML", True: "2025-06-10"}, {"by": "BD", "on": "2024-06-03"}])
    assert findings == [] and [r.by for r in two] == ["BD", "ML"]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"by": "XX", "on": "2024-06-03"}, "unknown reviewer 'XX'"),
        ({"by": "BD", "on": "2031-01-01"}, "in the future"),
        ({"by": "BD", "on": "2022-12-31"}, "before the post's date"),
        ({"by": "BD", "on": "3 June 2024"}, "is not a date"),
        ({"by": "BD", "on": "2024-02-30"}, "is not a date"),
        ({"by": "BD"}, "must name who and when"),
        ("BD on 2024-06-03", "must name who and when"),
    ],
)
def test_bad_reviews_say_what_is_wrong(entry: object, words: str) -> None:
    found, findings = parse(entry)
    assert found == ()
    assert len(findings) == 1 and words in findings[0].message
    assert findings[0].fix


def test_unknown_reviewer_gets_the_suggestion() -> None:
    _, (finding,) = parse({"by": "BX", "on": "2024-06-03"})
    assert finding.fix.startswith("(close to BX?)")


def status(reviewed: tuple[reviews.Review, ...], today: D, changes: tuple[D, ...] = ()) -> reviews.Status:
    return reviews.status(reviewed, reviews.Interval(12, "months"), D(2023, 1, 10), today, changes)


def test_due_dates_and_states() -> None:
    never = status((), D(2026, 12, 3))
    assert (never.due, never.state) == (D(2024, 1, 10), "overdue")
    last = (reviews.Review("BD", D(2026, 1, 20)),)
    assert status(last, D(2026, 12, 3)).state == "current"
    assert status(last, D(2026, 12, 21)).state == "due-soon"
    assert status(last, D(2027, 1, 20)).state == "overdue"


def test_changed_after_review_needs_a_second_commit_since_the_review_day() -> None:
    last = (reviews.Review("BD", D(2026, 1, 20)),)
    recorded = (D(2026, 1, 21), D(2025, 3, 1))  # the commit that recorded the review, an older one
    assert not status(last, D(2026, 2, 1), recorded).changed_after_review
    assert status(last, D(2026, 2, 1), (D(2026, 1, 30), *recorded)).changed_after_review
    assert status(last, D(2026, 2, 1), (D(2026, 1, 30), *recorded)).needs_attention


def test_the_real_site_reads_its_review_records() -> None:
    site = model.load(ROOT)
    assert [p for p in site.problems if p.kind == "review"] == []
    post = site.posts["posts/six-keys-for-effective-deviation-investigators"]
    assert [r.on.isoformat() for r in post.reviews] == ["2024-06-03", "2026-10-05"]
    assert str(post.review_every) == "12 months"
    myth = site.posts["posts/myth-1-complying-with-regulations-and-product-specifications"]
    assert str(myth.review_every) == "6 months", "from its practice in vocabulary.yaml"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    src = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    return src


def front_matter(root: Path, name: str, extra: str) -> None:
    path = root / "posts" / name
    path.write_text(path.read_text(encoding="utf-8").replace("\n---\n", f"\n{extra}\n---\n", 1), encoding="utf-8")


def test_bad_review_records_are_located_problems(root: Path) -> None:
    front_matter(root, "myths-1.md", "reviewed: {by: ZZ, on: 2024-01-01}\nreview_every: once a year")
    problems = [str(p) for p in model.load(root).problems]
    assert any(p.startswith("posts/myths-1.md:9: unknown reviewer 'ZZ'") for p in problems), problems
    assert any(p.startswith("posts/myths-1.md:10: review_every 'once a year' is not an interval") for p in problems)


def test_intervals_from_the_site_the_practice_and_the_post(root: Path) -> None:
    vocabulary = root / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace("  Quality Systems:\n", "  Quality Systems:\n    review_every: 2 years\n"))
    front_matter(root, "myths-2.md", "review_every: 3 months")
    site = model.load(root, review_every="18 months")
    practices = {p.practice: str(p.review_every) for p in site.posts.values() if p.docname != "posts/myths-2"}
    assert practices.get("Quality Systems") == "2 years"
    assert str(site.posts["posts/myths-2"].review_every) == "3 months"
    bad = model.load(root, review_every="often")
    assert any(str(p).startswith("conf.py:1: kb_review_every 'often'") for p in bad.problems)


def test_tags_take_no_review_interval(root: Path) -> None:
    vocabulary = root / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace("  GMP:\n", "  GMP:\n    review_every: 2 years\n"))
    assert any("unknown key 'review_every' in 'GMP'" in str(p) for p in model.load(root).problems)


def test_make_due_lists_the_queue_by_owner_and_exits_0(root: Path) -> None:
    front_matter(root, "myths-1.md", "reviewed: {by: AA, on: 2026-01-20}")  # due 2027-01-20
    front_matter(root, "myths-2.md", "reviewed: {by: AA, on: 2026-11-01}")  # current
    out = io.StringIO()
    assert cli.due(root, out=out, today=D(2026, 12, 30)) == 0
    text = out.getvalue()
    assert "\nreview queue on 2026-12-30:" in text, "after the notice that there is no history here"
    assert "posts/myths-1.md: due on 2027-01-20; last reviewed on 2026-01-20 by " in text
    assert "posts/myths-2.md" not in text
    assert "posts/guide-1.md: overdue since" in text and "never reviewed" in text
    site = model.load(root)
    owners = [line.split(" (")[0] for line in text.splitlines() if line and not line.startswith(("  ", "review", "kb"))]
    expected = reviews.queue(site.published, lambda post: (), D(2026, 12, 30))
    assert owners == [site.authors[key].name for key in expected]


def test_make_due_fails_on_overdue_posts_only_when_the_site_says_so(root: Path) -> None:
    assert cli.due(root, out=io.StringIO(), today=D(2030, 1, 1)) == 0
    conf = root / "conf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nkb_review_overdue_fails = True\n", encoding="utf-8")
    cli.conf_settings.cache_clear()
    assert cli.due(root, out=io.StringIO(), today=D(2030, 1, 1)) == 1
    assert cli.due(root, out=io.StringIO(), today=D(2023, 2, 1)) == 0
