"""Whatever an author writes, the content model answers with problems, never a traceback.

Property-based: hypothesis writes arbitrary text, arbitrary YAML-shaped front
matter and arbitrary vocabularies, and :func:`kb.model.load` must return a
``Site`` whose problems each name a file and a line.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import model

#: ``KB_EXAMPLES=5000 make test`` searches harder than the default run.
EXAMPLES = int(os.environ.get("KB_EXAMPLES", "100"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Scalars as YAML can hold them, with the text that most often breaks parsers.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2023-05-08", "2023-02-30", "2023-05-08T25:00", "tomorrow", "MR", "GMP", "<b>x</b>", "", " "]),
    st.dates().map(str),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from([*model.POST_KEYS, "redirect", "blogpost", "unknown"]) | st.text(max_size=12)
front_matters = st.dictionaries(keys, values, max_size=10)


def dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, default_flow_style=None, sort_keys=False)


def check_problems(site: model.Site) -> None:
    for problem in site.problems:
        assert isinstance(problem, model.Problem)
        assert isinstance(problem.path, str) and problem.path
        assert isinstance(problem.line, int) and problem.line >= 1
        assert str(problem)


def load_with(files: dict[str, str | bytes]) -> model.Site:
    """Write *files* into a fresh site root and load it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        site = model.load(root, now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    check_problems(site)
    return site


VOCABULARY = "tags:\n  GMP: {description: Good practice.}\npractices:\n  Quality Systems: {description: QS.}\n"
AUTHOR = "---\nname: Mark Roache\n---\n\nBio.\n"


@SETTINGS
@given(st.text(max_size=400))
def test_any_post_text_gives_problems_not_exceptions(text: str) -> None:
    load_with({"vocabulary.yaml": VOCABULARY, "authors/MR.md": AUTHOR, "posts/p.md": text})


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_give_problems_not_exceptions(data: bytes) -> None:
    site = load_with({"vocabulary.yaml": data, "authors/MR.md": data, "series/s.md": data, "posts/p.md": data})
    assert site.posts["posts/p"].status in ("published", "draft", "scheduled", "invalid")


@SETTINGS
@given(front_matters, st.text(max_size=80))
def test_any_front_matter_gives_problems_not_exceptions(front: dict, body: str) -> None:
    site = load_with(
        {"vocabulary.yaml": VOCABULARY, "authors/MR.md": AUTHOR, "posts/p.md": f"---\n{dump(front)}---\n{body}"}
    )
    post = site.posts["posts/p"]
    if post.status == "published" and not site.problems:
        assert post.title and post.date and post.authors and post.tags and post.practice


@SETTINGS
@given(st.dictionaries(st.text(max_size=10) | st.integers(), values, max_size=4), front_matters)
def test_any_vocabulary_and_profiles_give_problems_not_exceptions(vocabulary: dict, profile: dict) -> None:
    load_with(
        {
            "vocabulary.yaml": dump(vocabulary),
            "authors/MR.md": f"---\n{dump(profile)}---\nBio.\n",
            "series/s.md": f"---\n{dump(profile)}---\nIntro.\n",
            "posts/p.md": "---\ntitle: T\ndate: 2023-01-01\nauthor: MR\ntags: GMP\npractice: Quality Systems\n---\nx\n",
        }
    )


@SETTINGS
@given(
    st.fixed_dictionaries(
        {
            "tags": st.dictionaries(st.text(max_size=12), values, max_size=5),
            "practices": st.dictionaries(st.text(max_size=12), values, max_size=3),
        }
    )
)
def test_any_terms_give_problems_not_exceptions(vocabulary: dict) -> None:
    site = load_with({"vocabulary.yaml": dump(vocabulary)})
    slugs = [t.slug for t in site.tags.values()]
    assert len(slugs) == len(set(slugs)), "two tags share a page"
    assert all(slugs), "a tag without a page name"


@SETTINGS
@given(st.text(max_size=40) | scalars)
def test_dates_parse_to_aware_datetimes_or_none(value: object) -> None:
    parsed = model.parse_date(value, dt.UTC)
    assert parsed is None or parsed.tzinfo is not None


def test_yaml_aliases_cannot_blow_up_front_matter() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = "---\n" + "\n".join(lines) + "\ntags: *a8\n---\nBody.\n"
    site = load_with({"vocabulary.yaml": VOCABULARY, "posts/p.md": text})
    assert any("anchors and aliases" in p.message for p in site.problems)


def loads_with_cache(files: dict[str, str]) -> list[model.Site]:
    """*files* loaded without the parsed front matter cache, then twice with it."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content, encoding="utf-8")
        now, cache = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), root / "_build" / "front-matter.pickle"
        return [model.load(root, now=now, cache=where) for where in (None, cache, cache)]


def facts(site: model.Site) -> tuple[list[str], dict[str, str]]:
    return [str(p) for p in site.problems], {docname: repr(post) for docname, post in site.posts.items()}


@SETTINGS
@given(st.lists(front_matters, min_size=1, max_size=3), st.text(max_size=40))
def test_front_matter_kept_from_the_last_load_gives_the_same_site(fronts: list[dict], body: str) -> None:
    posts = {f"posts/p{number}.md": f"---\n{dump(front)}---\n{body}" for number, front in enumerate(fronts)}
    plain, first, cached = loads_with_cache({"vocabulary.yaml": VOCABULARY, "authors/MR.md": AUTHOR, **posts})
    assert facts(first) == facts(plain)
    assert facts(cached) == facts(plain)


def test_front_matter_is_parsed_again_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    post = tmp_path / "posts" / "p.md"
    post.write_text("---\ntitle: Before\n---\n\nText.\n", encoding="utf-8")
    cache = tmp_path / "_build" / "front-matter.pickle"
    assert model.load(tmp_path, cache=cache).posts["posts/p"].title == "Before"
    assert cache.is_file()
    post.write_text("---\ntitle: After\n---\n\nText.\n", encoding="utf-8")
    assert model.load(tmp_path, cache=cache).posts["posts/p"].title == "After"
    post.write_text("---\ntitle: [Unclosed\n---\n\nText.\n", encoding="utf-8")
    for _ in range(2):  # front matter that does not parse is never kept: the problem is reported each time
        assert any("malformed YAML" in str(p) for p in model.load(tmp_path, cache=cache).problems)


def test_a_cache_written_by_other_code_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "p.md").write_text("---\ntitle: Mine\n---\n\nText.\n", encoding="utf-8")
    cache = tmp_path / "front-matter.pickle"
    for stale in (b"not a pickle", pickle.dumps(("another stamp", {"title: Mine\n": ({"title": "Theirs"}, {})}))):
        cache.write_bytes(stale)
        assert model.load(tmp_path, cache=cache).posts["posts/p"].title == "Mine"
