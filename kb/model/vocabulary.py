"""The controlled vocabulary: every tag and practice, their descriptions and aliases.

``vocabulary.yaml`` holds two sections, ``tags:`` and ``practices:``; each
entry is a name (shown as written) with a description and optional aliases
that posts may use instead of the name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb import reviews
from kb.model.frontmatter import read_text, read_yaml_file
from kb.model.schema import (
    FIELDS,
    VOCABULARY_FILE,
    Field,
    Problem,
    did_you_mean,
    fold,
    shape_problem,
    slugify,
    split_list,
    text_problem,
)

#: A tag's or practice's name: short text (it names a page), shown as written.
TERM_NAME = Field("text", 100)
ENTRY_KEYS = ("description", "aliases")
#: A practice may also say how often its posts are due for review.
PRACTICE_KEYS = (*ENTRY_KEYS, "review_every")


@dataclass(frozen=True)
class Term:
    """A tag or a practice of the controlled vocabulary."""

    name: str
    slug: str
    description: str
    aliases: tuple[str, ...] = ()
    #: How often posts of this practice are due for review (practices only).
    review_every: reviews.Interval | None = None


class Lookup:
    """Maps any accepted spelling (case, accents, aliases) to the canonical term."""

    def __init__(self, terms: dict[str, Term]) -> None:
        self.terms = terms
        self._index: dict[str, str] = {}
        for term in terms.values():
            for spelling in (term.name, *term.aliases):
                self._index.setdefault(fold(spelling), term.name)

    def __call__(self, value: str) -> str | None:
        return self._index.get(fold(value))

    def suggest(self, value: str) -> str:
        """``did you mean 'X'?`` naming canonical terms whose name or alias is close to *value*."""
        close = difflib.get_close_matches(fold(value), list(self._index), n=6, cutoff=0.6)
        names = list(dict.fromkeys(self._index[c] for c in close))[:3]
        if names:
            return "did you mean " + " or ".join(repr(n) for n in names) + "?"
        return did_you_mean(value, self.terms)


def _entry_problems(section: str, name: str, spec: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """(message, fix, kind) for what is wrong with the entry's name (``"name"``) and each of its values."""
    found: dict[str, tuple[str, str, str]] = {}
    if problem := text_problem(f"{section} entry", name, TERM_NAME):
        found["name"] = problem
    for key in PRACTICE_KEYS if section == "practices" else ENTRY_KEYS:
        if spec.get(key) is not None and (problem := shape_problem(key, spec[key], FIELDS[key])):
            found[key] = problem
    every = spec.get("review_every")
    if every is not None and "review_every" not in found and reviews.parse_interval(every) is None:
        found["review_every"] = (f"review_every {every!r} is not an interval", reviews.INTERVAL_FIX, "review")
    return found


def _aliases(spec: dict[str, Any]) -> tuple[list[str], bool]:
    """The entry's aliases, and whether one of them was empty."""
    raw = spec.get("aliases") or []
    aliases = raw if isinstance(raw, list) else split_list(raw) or []
    empty = any(a is None or not str(a).strip() for a in aliases)
    return [str(a).strip() for a in aliases if a is not None and str(a).strip()], empty


class _Terms:
    """One section's terms as they are read, with the page names and spellings taken so far."""

    def __init__(self, section: str, lines: dict[str, int], problems: list[Problem]) -> None:
        self.section, self.lines, self.problems = section, lines, problems
        self.terms: dict[str, Term] = {}
        self.slugs: dict[str, str] = {}
        self.folded: dict[str, str] = {}

    def report(self, line: int, message: str, fix: str = "") -> None:
        self.problems.append(Problem(VOCABULARY_FILE, line, message, fix))

    def add(self, name: str, spec: Any) -> None:
        """Check one entry; keep it unless its name is refused or its page name is taken."""
        line = self.lines.get(f"{self.section}.{name}", 1)
        spec = spec or {}
        if not isinstance(spec, dict):
            self.report(line, f"{self.section} entry {name!r} must be a mapping", "give description:")
            return
        allowed = PRACTICE_KEYS if self.section == "practices" else ENTRY_KEYS
        for key in sorted({str(k) for k in spec} - set(allowed)):
            self.report(line, f"unknown key {key!r} in {name!r}", did_you_mean(key, allowed))
        found = _entry_problems(self.section, name, spec)
        for message, fix, kind in found.values():
            self.problems.append(Problem(VOCABULARY_FILE, line, message, fix, kind))
        if "name" in found:
            return
        spec = {key: value for key, value in spec.items() if key not in found}
        description = str(spec.get("description") or "").strip()
        if not description and "description" not in found:
            self.report(line, f"{self.section} entry {name!r} has no description", "add description: ...")
        aliases, empty = _aliases(spec)
        if empty:
            self.report(line, f"empty alias in {name!r}", "remove it from aliases")
        slug = slugify(name)
        if not slug:
            self.report(
                line, f"{self.section} entry {name!r} has an empty page name", "use letters or digits in the name"
            )
        elif slug in self.slugs:
            self.report(
                line,
                f"{name!r} and {self.slugs[slug]!r} would share the page '{slug}'",
                "merge them, or make one an alias of the other",
            )
        else:
            self._claim_spellings(line, name, aliases)
            self.slugs[slug] = name
            every = reviews.parse_interval(spec["review_every"]) if "review_every" in spec else None
            self.terms[name] = Term(name, slug, description, tuple(aliases), every)

    def _claim_spellings(self, line: int, name: str, aliases: list[str]) -> None:
        for spelling in [name, *aliases]:
            key = fold(spelling)
            if key in self.folded and self.folded[key] != name:
                what = f"{name!r}" if spelling == name else f"alias {spelling!r} of {name!r}"
                self.report(line, f"{what} already names {self.folded[key]!r}", "keep each spelling under one entry")
            self.folded.setdefault(key, name)


def _load_terms(section: str, data: Any, lines: dict[str, int], problems: list[Problem]) -> dict[str, Term]:
    if not isinstance(data, dict):
        problems.append(Problem(VOCABULARY_FILE, lines.get(section, 1), f"'{section}' must be a mapping", ""))
        return {}
    terms = _Terms(section, lines, problems)
    for name, spec in data.items():
        terms.add(str(name).strip(), spec)
    return terms.terms


def _mapping_lines(node: yaml.Node | None) -> dict[str, int]:
    """Line of each top-level section and of each entry below it (``tags.GMP``)."""
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key, value in node.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for sub, _ in value.value:
                lines[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
    return lines


def load_vocabulary(root: Path, problems: list[Problem]) -> tuple[dict[str, Term], dict[str, Term]]:
    """Tags and practices from ``vocabulary.yaml``."""
    path = root / VOCABULARY_FILE
    if not path.exists():
        problems.append(Problem(VOCABULARY_FILE, 1, "the vocabulary file is missing", "create vocabulary.yaml"))
        return {}, {}
    source = read_text(root, path, problems)
    found = read_yaml_file(VOCABULARY_FILE, source, problems) if source is not None else None
    if found is None:
        return {}, {}
    node, data = found
    if not isinstance(data, dict):
        problems.append(Problem(VOCABULARY_FILE, 1, "must hold 'tags:' and 'practices:'", ""))
        return {}, {}
    lines = _mapping_lines(node)
    for key in sorted({str(k) for k in data} - {"tags", "practices"}):
        problems.append(
            Problem(
                VOCABULARY_FILE, lines.get(key, 1), f"unknown section {key!r}", did_you_mean(key, ["tags", "practices"])
            )
        )
    tags = _load_terms("tags", data.get("tags") or {}, lines, problems)
    practices = _load_terms("practices", data.get("practices") or {}, lines, problems)
    return tags, practices
