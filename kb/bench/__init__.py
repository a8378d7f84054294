"""How fast the knowledge base builds as it grows: ``make bench`` (``python -m kb.bench 100 1000``).

For each size N, a corpus of N generated posts is written into a temporary
folder together with the site's real ``conf.py``, extensions, templates, home
page and glossary, 20 generated authors and the real vocabulary with generated
tags added up to 64.  The posts have the mix of the real ones (``posts/``):
600-900 words of neutral filler in three to five sections, with admonitions,
tables, bullet lists, fenced code in five languages, sphinx-design tabs and
cards, a figure (a small SVG of the real site), bold, inline code and web
links, links to earlier posts (``{doc}``, ``{post}``, the previous part of a
series), to an author and a series, glossary terms and citations of every
regulation the site knows (:data:`kb.citations.DEFAULT_CITATIONS`); 1-8 tags,
1-3 authors, and about three in ten posts in series of 2-10 parts.  The
introduction, which listings show, stays plain text, as in the real posts.

The knowledge base is checked the way ``make check`` checks it (a fresh
process: all 2,000 posts must take under 5 s), then built the way ``make
html`` builds it (strict, ``-j auto``): a full build, a rebuild with nothing
changed, a rebuild after editing one post's body and one after changing one
post's tags; after each edit the output is checked for stale pages.

The same posts are also built by the reference, every figure is compared with:
plain Sphinx with the Markdown extensions the posts need (MyST with the same
settings, sphinx-design) and the ``basic`` theme.  The reference must do the
work of reading every post as the site does, so it also resolves the site's own
roles (see *the reference* below): left unknown, each would become an error
message, cheaper than a link, and flatter the comparison.  What the site adds
on top (its theme, listing, tag, author and series pages, feeds, related
posts, the search index) is what the ratios measure.

The cost of reading the posts' history is measured on the same corpus made a
git repository with 10 commits that each change every post: one read of the
whole history (as a build after a new commit does), and one with no new commit
(as every other build does, which must run no git command).

Once per run, ``make serve`` is started on a copy of the real site, a post is
saved several times with a new first paragraph, and the served page is polled
until the new text shows: the edit-to-visible time a consultant waits
(target: 1.5 s), then the preview's search indexes, merged as its search page
merges them (:func:`kb.preview.recent.found`), until they find the new word
(target: 3 s from the save), and the number of rebuilds each save set off
(one).  A save comes 5 s after the one before, once its rebuild has ended.
The same is measured on a corpus of 2,000 posts, editing its newest post
(target: 1.0 s to visible).

Peak memory is the largest resident set of any process of a build (the main
process or one of its parallel readers), as ``getrusage`` reports it.  Output
is reported per post and by its largest page (which, and how large); the
full build's cost per post at each size is compared with that at the smallest
size of at least 1,000 posts (1.00x: the build grows linearly).  Results are
printed as a table and written to ``_build/bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb import model
from kb.bench.corpus import ROOT, Corpus, generate
from kb.bench.preview import (
    PREVIEW_CORPUS,
    PREVIEW_CORPUS_TARGET_S,
    PREVIEW_SEARCH_TARGET_S,
    PREVIEW_TARGET_S,
    preview_corpus_latency,
    preview_latency,
)

# -- measuring ---------------------------------------------------------------

DEFAULT_SIZES = (100, 1000, 2000)
RESULTS = ROOT / "_build" / "bench" / "results.json"
#: The options of ``make html``.
KB_OPTIONS = ("-W", "-n", "--keep-going", "-j", "auto")
REFERENCE_OPTIONS = ("-j", "auto")
#: The most ``make check`` may take at 2,000 posts.
CHECK_TARGET_S = 5.0

#: Runs one build in a fresh process, so that its children's peak memory is this build's.
MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
rss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
log = (done.stdout + done.stderr)[-4000:]
print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_kb": rss, "rc": done.returncode, "log": log}))
"""


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    ok: bool
    log: str = ""


def settled() -> None:
    """Have the disk take every write of the step before, so that a step is not timed waiting for them.

    Right after a full build of 10,000 posts a no-op rebuild waited 3.7 s of
    its 12.3 s for the kernel to write out the full build's pages; 30 s later
    it took 8.7 s, its CPU time.  Every timed step, the reference's too, starts
    after ``sync``.
    """
    os.sync()


def sphinx(source: Path, options: tuple[str, ...]) -> Run:
    """Build *source* into ``source/_build/html`` (doctrees beside it, not counted) and measure it."""
    settled()
    build = source / "_build"
    command = [sys.executable, "-m", "sphinx", *options, "-q", "-d", str(build / "doctrees"), "-b", "html"]
    command += [str(source), str(build / "html")]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    return Run(result["seconds"], result["cpu"], result["rss_kb"] / 1024, result["rc"] == 0, result["log"])


def check_run(source: Path) -> Run:
    """``make check`` on *source*, in a fresh process as a consultant runs it."""
    settled()
    command = [sys.executable, "-m", "kb", "--root", str(source), "check"]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True, cwd=source
    )
    result = json.loads(out.stdout)
    return Run(result["seconds"], result["cpu"], result["rss_kb"] / 1024, result["rc"] == 0, result["log"])


#: The real site's files a preview needs.
def output_bytes(source: Path) -> int:
    return sum(p.stat().st_size for p in (source / "_build" / "html").rglob("*") if p.is_file())


def largest_page(source: Path) -> dict[str, Any]:
    """The largest HTML page of a built site: its path and size."""
    root = source / "_build" / "html"
    path = max(root.rglob("*.html"), key=lambda p: p.stat().st_size)
    return {"largest_page": path.relative_to(root).as_posix(), "largest_page_kb": path.stat().st_size / 1024}


def pages(source: Path) -> list[Path]:
    """Every page and feed of a built site."""
    root = source / "_build" / "html"
    return sorted(p for p in root.rglob("*") if p.suffix in (".html", ".xml"))


def stale_pages(source: Path, old: str) -> list[str]:
    """Pages that still show *old* text after an edit removed it."""
    root = source / "_build" / "html"
    return [p.relative_to(root).as_posix() for p in pages(source) if old in p.read_text(encoding="utf-8")]


def edit_body(corpus: Corpus) -> tuple[str, str]:
    """Rewrite the first paragraph (the excerpt) of the newest post; return (old, new) text."""
    path = corpus.kb / corpus.posts[-1]
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition("\n---\n\n")
    first, _, tail = rest.partition("\n\n")
    new = f"Edited introduction number {time.time_ns()} replaces the first paragraph."
    path.write_text(f"{head}\n---\n\n{new}\n\n{tail}", encoding="utf-8")
    return first.split(".")[0], new


def edit_tags(corpus: Corpus, tags: list[str]) -> tuple[str, str, str]:
    """Give the post in the middle of the corpus one other tag; return (docname, old tags line, new tag)."""
    name = corpus.posts[len(corpus.posts) // 2]
    path = corpus.kb / name
    lines = path.read_text(encoding="utf-8").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("tags: "))
    old = lines[index]
    new = next(t for t in tags if t not in old)
    lines[index] = f"tags: [{new}]"
    path.write_text("\n".join(lines), encoding="utf-8")
    return name.removesuffix(".md"), old, new


def tag_page_lists(source: Path, tag: str, docname: str, site: model.Site) -> bool:
    """Whether one of the pages of *tag*'s listing (the first, or ``page/N.html`` below it) links *docname*."""
    first = source / "_build" / "html" / "blog" / "tag" / f"{site.tags[tag].slug}.html"
    pages = [first, *first.with_suffix("").glob("page/*.html")]
    link = f"{docname.rpartition('/')[2]}.html"
    return any(page.is_file() and link in page.read_text(encoding="utf-8") for page in pages)


#: Commits made in the corpus to measure reading its history; each changes every post.
HISTORY_COMMITS = 10


def measure_history(source: Path) -> dict[str, float]:
    """Seconds to read the history of every post (:mod:`kb.history`), cold and with no new commit."""
    from kb import history

    person = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env = {**os.environ, **person, "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(source), *args], check=True, capture_output=True, env=env)

    git("init", "-q")
    posts = sorted((source / "posts").glob("*.md"))
    for number in range(HISTORY_COMMITS):
        if number:
            for post in posts:
                with post.open("a", encoding="utf-8") as file:
                    file.write(f"\nRevision {number}.\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"Revision {number} of every post")
    cache = source / "_build" / "history.pickle"
    start = time.perf_counter()
    found = history.cached_history(source, cache)
    cold = time.perf_counter() - start
    assert len(found.of(posts[0].relative_to(source).as_posix())) == HISTORY_COMMITS
    start = time.perf_counter()
    history.cached_history(source, cache)
    return {"history_s": cold, "history_noop_s": time.perf_counter() - start}


def progress(size: int, step: str) -> None:
    print(f"[N={size}] {step} ...", file=sys.stderr, flush=True)


def measure_reference(size: int, corpus: Corpus) -> dict[str, Any]:
    """Plain Sphinx + MyST with the basic theme on the same posts: a full build and a no-op rebuild."""
    progress(size, "reference: full build (Sphinx + MyST, basic theme)")
    full = sphinx(corpus.reference, REFERENCE_OPTIONS)
    progress(size, "reference: no-op rebuild")
    noop = sphinx(corpus.reference, REFERENCE_OPTIONS)
    return {
        "full_s": full.seconds,
        "full_cpu_s": full.cpu_seconds,
        "noop_s": noop.seconds,
        "noop_cpu_s": noop.cpu_seconds,
        "peak_mb": full.peak_mb,
        "output_mb": output_bytes(corpus.reference) / 1e6,
        **largest_page(corpus.reference),
        "ok": full.ok,
    }


def measure(size: int, workdir: Path) -> dict[str, Any]:
    progress(size, "generating the corpus")
    corpus = generate(workdir / f"n{size}", size)
    figures: dict[str, Any] = {"posts": size}
    problems: list[str] = []

    progress(size, "make check")
    checked = check_run(corpus.kb)
    if not checked.ok:
        problems.append(f"make check found problems in the corpus:\n{checked.log}")
    figures["check"] = {"seconds": checked.seconds, "cpu_s": checked.cpu_seconds, "ok": checked.ok}

    figures["reference"] = measure_reference(size, corpus)
    progress(size, "kb: full build")
    full = sphinx(corpus.kb, KB_OPTIONS)
    if not full.ok:
        problems.append(f"full build failed:\n{full.log}")
    progress(size, "kb: no-op rebuild")
    noop = sphinx(corpus.kb, KB_OPTIONS)
    progress(size, "kb: rebuild after editing one post's body")
    old, _ = edit_body(corpus)
    edit = sphinx(corpus.kb, KB_OPTIONS)
    stale = stale_pages(corpus.kb, old)
    if stale or not edit.ok:
        problems.append(f"after the body edit, {len(stale)} pages still show the old text: {stale[:5]}")
    progress(size, "kb: rebuild after changing one post's tags")
    site = model.load(corpus.kb)
    docname, _, tag = edit_tags(corpus, list(site.tags))
    retag = sphinx(corpus.kb, KB_OPTIONS)
    retagged = retag.ok and tag_page_lists(corpus.kb, tag, docname, site)
    if not retagged:
        problems.append(f"after the tag change, the page of tag {tag!r} does not list {docname}")
    output = output_bytes(corpus.kb)
    figures["kb"] = {
        "full_s": full.seconds,
        "full_cpu_s": full.cpu_seconds,
        "noop_s": noop.seconds,
        "noop_cpu_s": noop.cpu_seconds,
        "edit_s": edit.seconds,
        "edit_cpu_s": edit.cpu_seconds,
        "retag_s": retag.seconds,
        "retag_cpu_s": retag.cpu_seconds,
        "peak_mb": max(r.peak_mb for r in (full, noop, edit, retag)),
        "output_mb": output / 1e6,
        "kb_per_post": output / 1024 / size,
        **largest_page(corpus.kb),
        "edit_correct": not stale and edit.ok,
        "retag_correct": retagged,
        "ok": full.ok and noop.ok and edit.ok and retag.ok,
    }
    progress(size, f"kb: reading the history of {size} posts x {HISTORY_COMMITS} commits")
    figures["kb"].update(measure_history(corpus.kb))
    figures["problems"] = problems
    for problem in problems:
        print(f"[N={size}] PROBLEM: {problem}", file=sys.stderr, flush=True)
    shutil.rmtree(corpus.kb.parent, ignore_errors=True)
    return figures


# -- reporting ---------------------------------------------------------------

TARGETS = (
    "targets: full <= 1.0x reference; no-op <= 5% and one-post edit <= 10% of full; <= 100 KB/post; <= 800 MB;\n"
    f"make check <= {CHECK_TARGET_S:.0f} s at 2,000 posts; make serve edit-to-visible <= {PREVIEW_TARGET_S} s "
    f"(real site), <= {PREVIEW_CORPUS_TARGET_S} s ({PREVIEW_CORPUS:,} posts); search finds the edit "
    f"<= {PREVIEW_SEARCH_TARGET_S:.0f} s;\n"
    "at 10,000 posts: <= 60 KB/post, largest page <= 1 MB, <= 2.5 GB, cost per post <= 1.15x that at 1,000"
)
#: Full-build cost per post is compared with that of the smallest size at least this large.
PER_POST_BASE = 1000


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}x" if theirs else "-"


def share(mine: float, full: float) -> str:
    return f"{mine / full:.0%} full" if full else "-"


def per_post(figures: dict[str, Any], base: dict[str, Any] | None) -> list[tuple[str, float, float, str]]:
    """Full-build cost per post (ms), wall and CPU; the ratio is to the same cost at
    the *base* size (the smallest of at least :data:`PER_POST_BASE` posts): 1.00x is linear."""
    rows = []
    for step, key in (("full build per post (ms)", "full_s"), ("CPU per post (ms)", "full_cpu_s")):
        mine, theirs = (1000 * figures[side][key] / figures["posts"] for side in ("kb", "reference"))
        shown = ratio(mine, 1000 * base["kb"][key] / base["posts"]) + f" {base['posts']}" if base else ""
        rows.append((step, mine, theirs, shown))
    return rows


def table(results: list[dict[str, Any]], previews: tuple[dict[str, Any], ...] = ()) -> str:
    head = f"{'N':>5}  {'step':<24} {'kb':>10} {'reference':>10} {'ratio':>9}"
    lines = [head, "-" * len(head)]
    base = min((f for f in results if f["posts"] >= PER_POST_BASE), key=lambda f: f["posts"], default=None)
    for figures in results:
        kb, ref = figures["kb"], figures["reference"]
        size = figures["posts"]
        full = kb["full_s"]
        rows = [
            ("full build (s)", full, ref["full_s"], ratio(full, ref["full_s"])),
            ("full build, CPU (s)", kb["full_cpu_s"], ref["full_cpu_s"], ratio(kb["full_cpu_s"], ref["full_cpu_s"])),
            ("no-op rebuild (s)", kb["noop_s"], ref["noop_s"], share(kb["noop_s"], full)),
            ("edit one post's body (s)", kb["edit_s"], None, share(kb["edit_s"], full)),
            ("change one post's tags", kb["retag_s"], None, share(kb["retag_s"], full)),
            ("read history, new commit", kb["history_s"], None, share(kb["history_s"], full)),
            ("read history, none (s)", kb["history_noop_s"], None, share(kb["history_noop_s"], full)),
            ("peak memory (MB)", kb["peak_mb"], ref["peak_mb"], ratio(kb["peak_mb"], ref["peak_mb"])),
            ("output (MB)", kb["output_mb"], ref["output_mb"], ratio(kb["output_mb"], ref["output_mb"])),
            ("output per post (KB)", kb["kb_per_post"], ref["output_mb"] * 1e6 / 1024 / size, ""),
            ("largest page (KB)", kb["largest_page_kb"], ref["largest_page_kb"], ""),
            *per_post(figures, base),
        ]
        if "check" in figures:
            rows.insert(0, ("make check (s)", figures["check"]["seconds"], None, ""))
        for step, mine, theirs, shown in rows:
            other = f"{theirs:10.1f}" if theirs is not None else f"{'':>10}"
            lines.append(f"{size:>5}  {step:<24} {mine:10.1f} {other} {shown:>9}")
        verdict = "correct" if kb["edit_correct"] and kb["retag_correct"] else "STALE PAGES"
        lines.append(f"{size:>5}  {'incremental output':<24} {verdict:>10}")
        lines.append(f"{size:>5}  {'largest page':<24} {kb['largest_page']} (reference: {ref['largest_page']})")
        lines.append("")
    for preview in previews:
        lines.append(preview_line(preview))
    if previews:
        lines.append("")
    return "\n".join([*lines, TARGETS])


def preview_line(preview: dict[str, Any]) -> str:
    """One line for a preview's figures: each save's times, their median, the rebuilds per save."""
    where = f"make serve, {preview.get('site', 'real site')}"
    if not preview.get("ok"):
        return f"{where}: the preview did not show the edit (see results.json)"

    def times(key: str) -> str:
        return ", ".join(f"{s:.2f}" for s in preview[key])

    line = f"{where}: save a post -> page shows it: median {preview['median_s']:.2f} s ({times('seconds')})"
    if "reload_seconds" in preview:
        line += f"; browser reloads: median {preview['reload_median_s']:.2f} s ({times('reload_seconds')})"
    if "search_seconds" in preview:
        line += f"; search finds it: median {preview['search_median_s']:.2f} s ({times('search_seconds')})"
    return f"{line}; {preview['rebuilds_per_save']:.1f} rebuilds per save"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help=f"numbers of posts (default: {DEFAULT_SIZES})")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument("--no-preview", action="store_true", help="skip the make serve latencies")
    args = parser.parse_args(argv)
    sizes = args.sizes or list(DEFAULT_SIZES)
    results = []
    previews: tuple[dict[str, Any], ...] = ()
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as folder:
        if not args.no_preview:
            print("[preview] make serve on the real site: save, then poll the page ...", file=sys.stderr, flush=True)
            previews += (preview_latency(Path(folder)),)
            print(f"[preview] make serve on {PREVIEW_CORPUS} posts ...", file=sys.stderr, flush=True)
            previews += (preview_corpus_latency(Path(folder)),)
        for size in sizes:
            results.append(measure(size, Path(folder)))
            # Written after each size: a long run that is stopped keeps what it measured.
            report = {
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
                "options": {"kb": KB_OPTIONS, "reference": REFERENCE_OPTIONS},
                "results": results,
                "previews": previews,
            }
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(json.dumps(report, indent=2), encoding="utf-8")
            print(table(results[-1:]), file=sys.stderr, flush=True)
    print(table(results, previews))
    print(f"\nwritten to {args.output}")
    return 0 if all(not r["problems"] for r in results) and all(p["ok"] for p in previews) else 1
