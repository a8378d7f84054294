"""Authors: one profile per file in ``authors/``, the file name being the key posts use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.model.files import is_refused
from kb.model.frontmatter import FrontMatter, check_keys, check_values, read_front_matter
from kb.model.schema import (
    AUTHOR_KEYS,
    AUTHORS_DIR,
    Problem,
    fold,
    slugify,
    split_list,
)
from kb.model.vocabulary import Lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

#: What a link in a profile may point at.
LINK_SCHEMES = re.compile(r"^(https://|http://|mailto:)")


@dataclass(frozen=True)
class Author:
    key: str
    name: str
    role: str
    path: str
    practice: str | None = None
    expertise: tuple[str, ...] = ()
    photo: str | None = None
    links: tuple[tuple[str, str], ...] = ()

    @property
    def docname(self) -> str:
        return f"{AUTHORS_DIR}/{self.key}"

    @property
    def title(self) -> str:
        """The title of the author's page: the name."""
        return self.name

    @property
    def initials(self) -> str:
        words = [w for w in re.split(r"[\s.,]+", self.name) if w and w[0].isupper()]
        return "".join(w[0] for w in words[:2]) or self.key[:2].upper()


def profile_files(root: Path, folder: str, refused: set[str] | None = None) -> list[Path]:
    """The profiles in *folder* (``authors/``, ``series/``), without refused links."""
    found = (p for p in (root / folder).glob("*.md") if p.name != "index.md")
    return sorted(p for p in found if not is_refused(p.relative_to(root).as_posix(), refused or set()))


def read_profiles(
    root: Path, folder: str, problems: list[Problem], refused: set[str] | None, unreadable: set[str] | None
) -> Iterator[tuple[Path, FrontMatter]]:
    """Each profile in *folder* with its front matter; one that cannot be read goes to *unreadable*."""
    for path in profile_files(root, folder, refused):
        fm = read_front_matter(root, path, problems)
        if fm is not None:
            yield path, fm
        elif unreadable is not None:
            unreadable.add(path.relative_to(root).as_posix())


def _practice(fm: FrontMatter, practices: Lookup, problems: list[Problem]) -> str | None:
    practice = fm.values.get("practice")
    if practice is None:
        return None
    canonical = practices(str(practice))
    if canonical is None:
        problems.append(
            Problem(
                fm.path,
                fm.line("practice"),
                f"unknown practice {practice!r}",
                practices.suggest(str(practice)),
            )
        )
    return canonical


def _photo(root: Path, path: Path, fm: FrontMatter, problems: list[Problem]) -> str | None:
    photo = fm.values.get("photo")
    if photo is None:
        return None
    photo_path = (path.parent / str(photo)).resolve()
    if not photo_path.is_file() or root.resolve() not in photo_path.parents:
        problems.append(
            Problem(fm.path, fm.line("photo"), f"photo {photo!r} is not a file in the repository", "fix the path")
        )
        return None
    return str(photo)


def _links(fm: FrontMatter, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    raw: Any = fm.values.get("links") or {}
    links: list[tuple[str, str]] = []
    for label, url in raw.items():
        if not LINK_SCHEMES.match(str(url)):
            problems.append(Problem(fm.path, fm.line("links"), f"link {label!r} must be an http(s) or mailto URL", ""))
            continue
        links.append((str(label), str(url)))
    return tuple(links)


def _author(root: Path, path: Path, fm: FrontMatter, practices: Lookup, problems: list[Problem]) -> Author:
    values = fm.values
    expertise = split_list(values.get("expertise") or []) or []
    return Author(
        key=path.stem,
        name=str(values["name"]).strip(),
        role=str(values.get("role") or "Consultant").strip(),
        path=fm.path,
        practice=_practice(fm, practices, problems),
        expertise=tuple(str(e) for e in expertise if e),
        photo=_photo(root, path, fm, problems),
        links=_links(fm, problems),
    )


def _check_names(authors: dict[str, Author], problems: list[Problem]) -> None:
    """Each author has one name, and a page of their own: ABlog names it after the name."""
    names: dict[str, str] = {}
    pages: dict[str, str] = {}
    for author in authors.values():
        other = names.setdefault(fold(author.name), author.key)
        if other != author.key:
            problems.append(
                Problem(author.path, 2, f"name {author.name!r} is also used by {other!r}", "give each author one file")
            )
            continue
        page = slugify(author.name)  # ABlog's page: blog/author/<slug>
        other = pages.setdefault(page, author.key)
        if not page:
            problems.append(
                Problem(
                    author.path, 2, f"name {author.name!r} has no letters or digits", "spell it in letters", "policy"
                )
            )
        elif other != author.key:
            problems.append(
                Problem(
                    author.path,
                    2,
                    f"name {author.name!r} and the name of {other!r} would share the page blog/author/{page}",
                    "spell the names so that they differ in letters or digits",
                    "policy",
                )
            )


def load_authors(
    root: Path,
    practices: Lookup,
    problems: list[Problem],
    refused: set[str] | None = None,
    unreadable: set[str] | None = None,
) -> dict[str, Author]:
    """Every profile in ``authors/`` that is sound, by key; a problem for each one that is not.

    Profiles whose front matter cannot be read are added to *unreadable*: the build leaves them out.
    """
    authors: dict[str, Author] = {}
    seen: dict[str, str] = {}
    for path, fm in read_profiles(root, AUTHORS_DIR, problems, refused, unreadable):
        key = path.stem
        # MR.md and mr.md are one file on case-insensitive disks, and two keys
        # with one slug would share an ABlog page: keep the first, report the rest.
        clash = seen.get(fold(key)) or seen.get(slugify(key))
        if clash:
            problems.append(
                Problem(
                    fm.path,
                    1,
                    f"author key {key!r} clashes with {clash!r}: keys must differ in more than case or punctuation",
                    "rename one of the two files, or merge them",
                )
            )
            continue
        seen[fold(key)] = seen[slugify(key)] = fm.path
        complete = check_keys(fm, AUTHOR_KEYS, problems)
        check_values(fm, AUTHOR_KEYS, problems)  # drops each bad value, reported
        if complete and "name" in fm.values:
            authors[key] = _author(root, path, fm, practices, problems)
    _check_names(authors, problems)
    return authors
