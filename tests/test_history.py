"""Pages say when they last changed and how, from the repository's history."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from kb import cli, history

ROOT = Path(__file__).resolve().parent.parent
POST = "posts/myths-1.md"


def git(repo: Path, *args: str, date: str = "2024-03-05T10:00:00+00:00") -> str:
    """Run git in *repo* as a fixed person at a fixed time."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Brian Duncan",
        "GIT_AUTHOR_EMAIL": "bd@example.com",
        "GIT_COMMITTER_NAME": "Brian Duncan",
        "GIT_COMMITTER_EMAIL": "bd@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, subject: str, date: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject, date=date)
    return git(repo, "rev-parse", "HEAD")


def edit(path: Path, sentence: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{sentence}\n", encoding="utf-8")


def make_repo(tmp_path: Path) -> Path:
    """The series test site in a repository of its own: one import, then one edit of a post."""
    src = tmp_path / "site"
    shutil.copytree(ROOT / "tests" / "roots" / "test-series", src)
    git(src, "init", "-q", "-b", "main")
    commit(src, "Import the series", "2024-01-15T09:00:00+00:00")
    edit(src / POST, "A clarification.")
    commit(src, "Myth one: clarify the scope", "2024-03-05T10:00:00+00:00")
    return src


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


# -- reading the history -------------------------------------------------------


def test_each_file_lists_its_commits_newest_first(repo: Path) -> None:
    found = history.read_history(repo)
    assert found.missing is None
    assert found.head == git(repo, "rev-parse", "HEAD")
    assert [c.subject for c in found.of(POST)] == ["Myth one: clarify the scope", "Import the series"]
    assert [c.subject for c in found.of("posts/myths-2.md")] == ["Import the series"]
    assert found.of(POST)[0].author == "Brian Duncan"
    assert found.of(POST)[0].date.date().isoformat() == "2024-03-05"


def test_ignored_commits_stay_in_the_history_but_are_no_update(repo: Path) -> None:
    found = history.read_history(repo)
    newest = found.of(POST)[0].commit
    assert found.last_update(POST, set()).subject == "Myth one: clarify the scope"
    assert found.last_update(POST, {newest[:7]}).subject == "Import the series"
    assert found.last_update("posts/myths-2.md", {found.of("posts/myths-2.md")[0].commit}) is None


def test_a_site_in_a_subfolder_names_its_files_from_the_site(repo: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    shutil.move(repo / ".git", outer / ".git")
    shutil.move(repo, outer / "kb")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "Move the site into kb/", date="2024-04-01T00:00:00+00:00")
    found = history.read_history(outer / "kb")
    assert found.of(POST)[0].subject == "Move the site into kb/"


def test_head_is_read_from_files_in_every_layout(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert history.find_repository(repo / "posts").head() == head  # type: ignore[union-attr]
    git(repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert history.find_repository(repo).head() == head  # type: ignore[union-attr]
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "--detach", str(linked))
    assert history.find_repository(linked).head() == head  # type: ignore[union-attr]
    assert history.read_history(linked).of(POST)[0].subject == "Myth one: clarify the scope"


def test_a_rebuild_without_a_new_commit_runs_no_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "doctrees" / history.CACHE
    first = history.cached_history(repo, cache)

    def no_git(*args: object) -> None:
        raise AssertionError("git ran although HEAD did not move")

    monkeypatch.setattr(history, "git", no_git)
    assert history.cached_history(repo, cache) == first
    monkeypatch.undo()
    edit(repo / POST, "Another sentence.")
    commit(repo, "Myth one: another sentence", "2024-05-01T00:00:00+00:00")
    assert history.cached_history(repo, cache).of(POST)[0].subject == "Myth one: another sentence"


def test_no_repository_shallow_clone_or_no_commit_say_why(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "tarball"
    shutil.copytree(repo, bare, ignore=shutil.ignore_patterns(".git"))
    assert "not in a git repository" in (history.read_history(bare).missing or "")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    assert "shallow" in (history.read_history(shallow).missing or "")
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert "no commit" in (history.read_history(empty).missing or "")


def test_uncommitted_files_are_named(repo: Path) -> None:
    assert history.uncommitted(repo) == frozenset()
    edit(repo / POST, "Not committed yet.")
    (repo / "posts" / "new.md").write_text("new", encoding="utf-8")
    assert history.uncommitted(repo) == {POST, "posts/new.md"}


# -- what a reader sees ----------------------------------------------------------


def build(src: Path, *extra: str, drafts: bool = False, today: str = "") -> subprocess.CompletedProcess[str]:
    """Build like ``make html`` (or ``make serve`` with *drafts*), incrementally, in its own process,
    as on the day *today* when given."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KB_DRAFTS": "1" if drafts else "", "KB_TODAY": today}
    out = src.parent / ("drafts" if drafts else "html")
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-b", "html", *extra]
    command += ["-d", str(out.with_name(out.name + ".doctrees")), str(src), str(out)]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def page(src: Path, name: str, drafts: bool = False) -> BeautifulSoup:
    out = src.parent / ("drafts" if drafts else "html")
    return BeautifulSoup((out / name).read_text(encoding="utf-8"), "html.parser")


def shown(soup: BeautifulSoup, selector: str) -> str:
    found = soup.select_one(selector)
    return found.get_text(" ", strip=True) if found else ""


def test_posts_and_pages_show_their_last_update_and_history(repo: Path) -> None:
    result = build(repo, "-D", "extensions=myst_parser,sphinx_design,ablog,kb,sphinx_sitemap")
    assert result.returncode == 0, result.stderr[-3000:]
    post = page(repo, "posts/myths-1.html")
    assert re.search(r"Last updated 0?5 March 2024", shown(post, ".kb-byline"))
    changes = post.select("details.kb-history li")
    assert [shown(li, ".kb-history-subject") for li in changes] == ["Myth one: clarify the scope", "Import the series"]
    assert "Brian Duncan" in changes[0].get_text()
    assert shown(post, "details.kb-history summary") == "History (2 changes)"
    assert "Last updated" in shown(page(repo, "index.html"), ".kb-page-updated")
    # Feeds: published is the post's date, updated its last commit.
    feed = BeautifulSoup((repo.parent / "html" / "blog" / "atom.xml").read_text(encoding="utf-8"), "xml")
    entry = next(e for e in feed.find_all("entry") if e.find("link")["href"].endswith("posts/myths-1.html"))
    assert entry.find("published").text.startswith("2023-01-10")
    assert entry.find("updated").text.startswith("2024-03-05")
    # The sitemap: a post's last update.
    sitemap = BeautifulSoup((repo.parent / "html" / "sitemap.xml").read_text(encoding="utf-8"), "xml")
    url = next(u for u in sitemap.find_all("url") if u.loc.text.endswith("posts/myths-1.html"))
    assert url.lastmod.text.startswith("2024-03-05")

    # A new commit rewrites the post's page without a clean build.
    edit(repo / POST, "A second clarification.")
    commit(repo, "Myth one: a second clarification", "2024-06-20T12:00:00+00:00")
    assert build(repo).returncode == 0
    post = page(repo, "posts/myths-1.html")
    assert "June 2024" in shown(post, ".kb-byline .kb-last-updated")
    assert shown(post, "details.kb-history summary") == "History (3 changes)"


def test_an_ignored_commit_is_listed_but_not_the_last_update(repo: Path) -> None:
    newest = git(repo, "rev-parse", "HEAD")
    result = build(repo, "-D", f"kb_history_ignore_commits={newest[:10]}")
    assert result.returncode == 0, result.stderr[-3000:]
    post = page(repo, "posts/myths-1.html")
    assert "March 2024" not in shown(post, ".kb-byline")
    assert "January 2024" in shown(post, ".kb-byline .kb-last-updated")
    assert shown(post, "details.kb-history summary") == "History (2 changes)"


def test_a_shallow_clone_builds_with_one_notice_and_front_matter_dates(repo: Path, tmp_path: Path) -> None:
    shallow = tmp_path / "clone" / "site"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)], check=True)
    result = build(shallow)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("this clone is shallow") == 1
    assert "fetch-depth: 0" in result.stdout
    post = page(shallow, "posts/myths-1.html")
    assert not post.select(".kb-last-updated, details.kb-history")
    assert "10 January 2023" in shown(post, ".kb-byline")


def test_the_preview_says_which_pages_changed_since_the_last_commit(repo: Path) -> None:
    edit(repo / POST, "Work in progress.")
    result = build(repo, drafts=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert shown(page(repo, "posts/myths-1.html", drafts=True), ".kb-uncommitted") == "Changed since the last commit"
    assert not page(repo, "posts/myths-2.html", drafts=True).select(".kb-uncommitted")
    commit(repo, "Myth one: finish", "2024-07-01T00:00:00+00:00")
    assert build(repo, drafts=True).returncode == 0
    post = page(repo, "posts/myths-1.html", drafts=True)
    assert not post.select(".kb-uncommitted")
    assert "July 2024" in shown(post, ".kb-last-updated")


# -- reviews -------------------------------------------------------------------

REVIEWED = "reviewed: {by: AA, on: 2024-04-01}"


def add_front_matter(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace("\n---\n", f"\n{line}\n---\n", 1), encoding="utf-8")


def queue_of(src: Path) -> list[str]:
    """The posts the review queue page lists, by file name."""
    links = page(src, "reviews.html").select(".kb-queue-posts a")
    return sorted(str(a["href"]).removeprefix("posts/").removesuffix(".html") for a in links)


def test_reviews_show_on_posts_and_the_queue_follows_without_a_clean_build(repo: Path) -> None:
    (repo / "reviews.md").write_text("---\norphan: true\n---\n# Queue\n\n```{kb-review-queue}\n```\n")
    add_front_matter(repo / POST, REVIEWED)
    commit(repo, "Myth one: reviewed", "2024-04-02T00:00:00+00:00")
    result = build(repo, today="2024-12-01")
    assert result.returncode == 0, result.stderr[-3000:]
    post = page(repo, "posts/myths-1.html")
    assert re.search(r"Reviewed by \S.* on 0?1 April 2024", shown(post, ".kb-post-review"))
    assert not post.select(".kb-due")
    overdue = page(repo, "posts/myths-2.html")
    assert "due for review since" in shown(overdue, ".kb-due")
    listed = queue_of(repo)
    assert "myths-2" in listed and "myths-1" not in listed

    # The page and `make due` list the same posts.
    out = io.StringIO()
    cli.conf_settings.cache_clear()
    cli.due(repo, out=out, today=dt.date(2024, 12, 1))
    printed = [line.split(":")[0].strip() for line in out.getvalue().splitlines() if line.startswith("  ")]
    assert sorted(Path(name).stem for name in printed) == listed

    # A change after the review shows in the byline and puts the post in the queue.
    edit(repo / POST, "A change after the review.")
    commit(repo, "Myth one: a change after review", "2024-05-01T00:00:00+00:00")
    assert build(repo, today="2024-12-01").returncode == 0
    assert "changed after review" in shown(page(repo, "posts/myths-1.html"), ".kb-post-review")
    assert "myths-1" in queue_of(repo)

    # The day passes the review's due date: the post follows, with no file changed.
    assert build(repo, today="2025-04-02").returncode == 0
    assert re.search(r"due for review since 0?1 April 2025", shown(page(repo, "posts/myths-1.html"), ".kb-due"))

    # A new review clears the banner; the queue follows.
    reviewed_again = "reviewed: [{by: AA, on: 2024-04-01}, {by: AA, on: 2025-04-03}]"
    text = (repo / POST).read_text(encoding="utf-8").replace(REVIEWED, reviewed_again)
    (repo / POST).write_text(text, encoding="utf-8")
    commit(repo, "Myth one: reviewed again", "2025-04-03T00:00:00+00:00")
    assert build(repo, today="2025-04-04").returncode == 0
    assert not page(repo, "posts/myths-1.html").select(".kb-due")
    assert "myths-1" not in queue_of(repo)


def test_suggest_a_change_links_to_the_source_when_the_repository_is_set(repo: Path) -> None:
    assert build(repo).returncode == 0
    assert not page(repo, "posts/myths-1.html").select(".kb-suggest-change")
    result = build(repo, "-D", "kb_repository_url=https://git.example/qxp/kb/", "-D", "kb_repository_branch=live")
    assert result.returncode == 0, result.stderr[-3000:]
    link = page(repo, "posts/myths-1.html").select_one("a.kb-suggest-change")
    assert link is not None and link["href"] == "https://git.example/qxp/kb/edit/live/posts/myths-1.md"
