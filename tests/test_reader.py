"""What a reader sees: type scale, whole words, cards, search addresses, the pages published.

Each test looks at the rendered page in Chromium (fixtures in
``tests/browsing.py``) or at the built files, on every page type, at a desktop
(1280 px) and a phone (390 px) width.  Every page type is also photographed at
both widths, light and dark, into ``_build/screenshots/`` for review.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree

import pytest
from bs4 import BeautifulSoup

from .browsing import (
    CONTENT,
    DESKTOP,
    PAGES,
    PHONE,
    SCREENSHOTS,
    SECTIONED_POST,
    SERIES_POST,
    TAG,
    BuiltSite,
    Visit,
    result_paths,
    screenshot,
)

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": DESKTOP, "phone": PHONE}


def open_page(visit: Visit, name: str, *, viewport: dict[str, int] = DESKTOP, mode: str = "light") -> Any:
    page = visit.open_tab(viewport=viewport, mode=mode)
    visit.go(PAGES[name])
    if name.startswith("search"):
        result_paths(page)
    return page


# -- screenshots ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_type_is_photographed(visit: Visit, name: str, width: str, mode: str) -> None:
    page = open_page(visit, name, viewport=WIDTHS[width], mode=mode)
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    shot = f"{name}-{WIDTHS[width]['width']}-{mode}"
    screenshot(page, shot)
    assert (SCREENSHOTS / f"{shot}.png").stat().st_size > 0


# -- one type scale ---------------------------------------------------------------

#: The font size of the first heading of each level in the article, and of a
#: heading of each level added to it (so that levels a page lacks are measured too).
HEADING_SIZES = """() => {
    const article = document.querySelector('.bd-article');
    const size = el => parseFloat(getComputedStyle(el).fontSize);
    const shown = {};
    for (const level of [1, 2, 3, 4]) {
        const first = article.querySelector('h' + level);
        if (first) shown[level] = size(first);
    }
    const probe = document.createElement('section');
    article.append(probe);
    const added = [1, 2, 3, 4].map(level => size(probe.appendChild(document.createElement('h' + level))));
    probe.remove();
    return {shown, added};
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("path", [f"{SECTIONED_POST.docname}.html", *(PAGES[n] for n in ("archive", "guide", "home"))])
def test_headings_shrink_level_by_level(visit: Visit, path: str, width: str) -> None:
    page = visit.open_tab(viewport=WIDTHS[width])
    visit.go(path)
    sizes = page.evaluate(HEADING_SIZES)
    shown = [sizes["shown"][level] for level in sorted(sizes["shown"], key=int)]
    assert len(shown) >= 2, sizes
    assert all(a > b for a, b in itertools.pairwise(shown)), sizes
    added = sizes["added"]
    assert all(a > b for a, b in itertools.pairwise(added)), sizes


# -- whole words, no sideways scrolling ---------------------------------------------

#: Every run of letters and digits in table cells and listed posts whose
#: characters sit on more than one line: a word broken inside itself.
BROKEN_WORDS = """() => {
    const broken = [];
    const boxes = document.querySelectorAll(
        '.bd-article td, .bd-article th, .kb-post-item, .kb-search-results li, .kb-browse-card, .sd-card');
    for (const box of boxes) {
        const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const match of node.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(match[0]);
            }
        }
    }
    return broken;
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_no_word_is_broken_inside_itself_on_a_phone(visit: Visit, name: str) -> None:
    page = open_page(visit, name, viewport=PHONE)
    assert page.evaluate(BROKEN_WORDS) == []


def test_table_headers_keep_their_words_on_a_desktop(visit: Visit) -> None:
    page = open_page(visit, "guide")
    assert page.locator(".bd-article th").count()
    assert page.evaluate(BROKEN_WORDS) == []


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways_on_a_phone(visit: Visit, name: str) -> None:
    page = open_page(visit, name, viewport=PHONE)
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{name} is {width[0]}px wide on a {width[1]}px screen"


def test_the_site_name_and_the_search_button_do_not_touch_on_a_phone(visit: Visit) -> None:
    page = open_page(visit, "home", viewport=PHONE)
    gap = page.evaluate(
        """() => {
        const name = document.querySelector('.navbar-brand').getBoundingClientRect();
        const button = [...document.querySelectorAll('.search-button__button')]
            .find(b => b.getBoundingClientRect().width > 0).getBoundingClientRect();
        return button.left - name.right;
    }"""
    )
    assert gap >= 8


# -- one card -----------------------------------------------------------------------

#: For every card, the smallest distance from its text to its inner border edge.
CARD_MARGINS = """() => {
    const cards = document.querySelectorAll('.sd-card, .kb-browse-card, .kb-series-nav');
    return [...cards].map(card => {
        const box = card.getBoundingClientRect();
        const style = getComputedStyle(card);
        const inner = {
            left: box.left + parseFloat(style.borderLeftWidth),
            right: box.right - parseFloat(style.borderRightWidth),
            top: box.top + parseFloat(style.borderTopWidth),
            bottom: box.bottom - parseFloat(style.borderBottomWidth),
        };
        let least = Infinity;
        const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.data.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const r of range.getClientRects()) {
                if (!r.width) continue;
                least = Math.min(least, r.left - inner.left, inner.right - r.right, r.top - inner.top,
                                 inner.bottom - r.bottom);
            }
        }
        return [card.textContent.trim().slice(0, 40), least];
    });
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", ["home", "authors", "post"])
def test_every_card_keeps_its_text_12px_from_its_border(visit: Visit, name: str, width: str) -> None:
    page = open_page(visit, name, viewport=WIDTHS[width])
    margins = page.evaluate(CARD_MARGINS)
    assert margins, "no cards on the page"
    assert [(text, least) for text, least in margins if least < 12] == []


def test_cards_line_up_with_the_text_column(visit: Visit) -> None:
    page = open_page(visit, "home")
    lefts = page.evaluate(
        """() => [document.querySelector('.bd-article h1'), document.querySelector('.sd-card'),
                  document.querySelector('.kb-browse-card')].map(e => Math.round(e.getBoundingClientRect().left))"""
    )
    assert len(set(lefts)) == 1, lefts


def test_every_author_on_the_home_page_starts_on_the_same_line_as_its_row(visit: Visit) -> None:
    page = open_page(visit, "home")
    tops = page.evaluate(
        "[...document.querySelectorAll('.kb-browse-authors > li')]"
        ".map(li => [li.getBoundingClientRect().top, li.querySelector('a').getBoundingClientRect().top])"
    )
    offsets = {round(link - item) for item, link in tops}
    assert len(offsets) == 1, tops


def test_practices_look_like_tags(visit: Visit) -> None:
    page = open_page(visit, "home")
    style = "el => [getComputedStyle(el).borderRadius, getComputedStyle(el).borderTopStyle]"
    practice = page.eval_on_selector(".kb-browse-described > li > p:first-child a", style)
    tag = page.eval_on_selector(".kb-browse-cloud > li", style)
    assert practice == tag
    assert practice[1] == "solid"


# -- search in the address ------------------------------------------------------------


def shown_state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
        q: document.getElementById('kb-search-input').value,
        sort: document.getElementById('kb-search-sort').value,
        checked: [...document.querySelectorAll('#kb-search-filter-groups input:checked')]
            .map(b => b.name + ':' + b.value),
    })"""
    )


def test_the_search_address_round_trips(visit: Visit) -> None:
    page = visit.go("search.html")
    page.fill("#kb-search-input", "quality")
    page.wait_for_url("**q=quality")
    typed = result_paths(page)
    assert typed

    page.check(f"#kb-search-filter-groups input[name=tag][value='{TAG.name}']")
    page.wait_for_url("**filter=tag*")
    filtered = result_paths(page)
    assert filtered
    assert set(filtered) < set(typed)

    page.select_option("#kb-search-sort", "date:desc")
    page.wait_for_url("**sort=date*")
    sorted_ = result_paths(page)
    assert sorted(sorted_) == sorted(filtered)
    dates = {f"{p.docname}.html": p.date for p in CONTENT.published}
    assert [dates[p] for p in sorted_] == sorted((dates[p] for p in sorted_), reverse=True)
    address = page.url
    assert re.search(r"[?&]q=quality(&|$)", address)
    assert "sort=date%3Adesc" in address
    assert f"filter=tag%3A{TAG.name}" in address

    page.reload()
    assert result_paths(page) == sorted_
    assert shown_state(page) == {"q": "quality", "sort": "date:desc", "checked": [f"tag:{TAG.name}"]}

    page.go_back()
    assert "sort=" not in page.url
    assert result_paths(page) == filtered
    assert shown_state(page)["sort"] == ""
    page.go_back()
    assert "filter=" not in page.url
    assert result_paths(page) == typed
    assert shown_state(page)["checked"] == []
    page.go_forward()
    assert result_paths(page) == filtered

    # A pasted address restores the search exactly, in a fresh tab.
    fresh = visit.open_tab()
    fresh.goto(address, wait_until="load")
    assert result_paths(fresh) == sorted_
    assert shown_state(fresh)["checked"] == [f"tag:{TAG.name}"]


def test_search_results_look_like_listings(visit: Visit) -> None:
    page = open_page(visit, "search")
    first = page.locator(".kb-search-results > li.kb-post-item:has(.kb-post-tags)").first  # a post, not a term
    link_colour = page.evaluate("getComputedStyle(document.querySelector('.bd-article p a')).color")
    assert first.locator(".kb-post-title a").evaluate("a => getComputedStyle(a).color") == link_colour
    meta = first.locator(".kb-post-meta").inner_text()
    assert re.match(r"[1-9]\d? [A-Z][a-z]+ \d{4} · \S", meta), meta  # 8 May 2023 · an author
    assert first.locator(".kb-post-excerpt mark").count()
    assert first.locator(".kb-post-tags .kb-tag").count()


def test_a_part_of_a_series_says_so_in_search(visit: Visit) -> None:
    page = visit.go("search.html?q=retrofitting")
    result_paths(page)
    metas = page.eval_on_selector_all(".kb-search-results .kb-post-meta", "ps => ps.map(p => p.textContent)")
    series = CONTENT.series[SERIES_POST.series].title
    assert any(meta.endswith(f" · {series} · Part {SERIES_POST.part}") for meta in metas), metas


def test_the_search_focus_ring_is_the_brand_colour(visit: Visit) -> None:
    page = open_page(visit, "search")
    page.focus("#kb-search-input")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    ring, brand = page.evaluate(
        """() => [getComputedStyle(document.activeElement).outlineColor,
                  getComputedStyle(document.querySelector('.kb-post-title a')).color]"""
    )
    assert page.evaluate("document.activeElement.id") == "kb-search-input"
    assert ring == brand


def test_every_page_has_the_brand_focus_ring(visit: Visit) -> None:
    page = open_page(visit, "home")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the site name
    ring, brand = page.evaluate(
        """() => {
        const probe = document.body.appendChild(document.createElement('span'));
        probe.style.color = 'var(--pst-color-primary)';
        const brand = getComputedStyle(probe).color;
        probe.remove();
        const active = getComputedStyle(document.activeElement);
        return [active.boxShadow + ' ' + active.outlineColor, brand];
    }"""
    )
    assert brand in ring


def test_on_a_phone_the_first_result_is_on_the_first_screen(visit: Visit) -> None:
    page = open_page(visit, "search", viewport=PHONE)
    assert not page.locator("#kb-search-filter-groups").is_visible()  # folded
    bottom = page.evaluate("document.querySelector('.kb-search-results .kb-post-title').getBoundingClientRect().bottom")
    assert bottom <= PHONE["height"]
    page.click("#kb-search-filters > summary")
    assert page.locator("#kb-search-filter-groups").is_visible()


def test_sort_sits_beside_the_query(visit: Visit) -> None:
    for viewport in WIDTHS.values():
        page = visit.open_tab(viewport=viewport)
        visit.go("search.html?q=quality")
        result_paths(page)
        field, select = (page.locator(s).bounding_box() for s in ("#kb-search-input", "#kb-search-sort"))
        assert abs((field["y"] + field["height"] / 2) - (select["y"] + select["height"] / 2)) < 4, viewport


# -- the pages published ----------------------------------------------------------------


def links_of(site: BuiltSite, name: str) -> set[str]:
    """The pages of the site that *name* links to, as paths below the output folder."""
    page = BeautifulSoup((site.outdir / name).read_text(encoding="utf-8"), "html.parser")
    found = set()
    for anchor in page.select("a[href]"):
        href = anchor["href"]
        if urlsplit(href).scheme or href.startswith(("#", "mailto:")):
            continue
        target = unquote(urlsplit(urljoin(name, href)).path).lstrip("/")
        if target.endswith(".html") and (site.outdir / target).is_file():
            found.add(target)
    return found


def test_the_sitemap_lists_exactly_the_pages_reachable_from_home(site: BuiltSite) -> None:
    reached, queue = {"index.html"}, deque(["index.html"])
    while queue:
        for target in links_of(site, queue.popleft()) - reached:
            reached.add(target)
            queue.append(target)
    tree = ElementTree.parse(site.outdir / "sitemap.xml")
    locs = [loc.text for loc in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    home = min((loc for loc in locs if loc.endswith("/index.html")), key=len)  # the site address + index.html
    base = home.removesuffix("index.html")
    listed = {loc.removeprefix(base) for loc in locs}
    assert listed - reached == set(), "in the sitemap but not reachable by links"
    assert reached - listed - {"search.html"} == set(), "reachable but not in the sitemap"
    written = {p.relative_to(site.outdir).as_posix() for p in site.outdir.rglob("*.html")}
    assert written - reached - {"404.html", "search.html", "_static/webpack-macros.html"} == set(), "orphan pages"


LEFTOVERS = ["blog.html", "blog/2023.html", "blog/drafts.html", "blog/tag.html", "blog/category.html", "genindex.html"]


def test_no_link_leads_to_a_missing_page(site: BuiltSite) -> None:
    for path in site.outdir.rglob("*.html"):
        name = path.relative_to(site.outdir).as_posix()
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for anchor in page.select("a[href]"):
            href = anchor["href"]
            if urlsplit(href).scheme or href.startswith(("#", "mailto:")) or name == "404.html":
                continue
            target = unquote(urlsplit(urljoin(name, href)).path).lstrip("/")
            assert (site.outdir / target).exists(), f"{name} links to {href}, which is not published"


@pytest.mark.parametrize("leftover", LEFTOVERS)
def test_ablog_leftover_pages_are_not_published(site: BuiltSite, leftover: str) -> None:
    assert not (site.outdir / leftover).exists()


def test_no_page_says_all_posts_two_ways(site: BuiltSite) -> None:
    for path in site.outdir.rglob("*.html"):
        assert "All Posts" not in path.read_text(encoding="utf-8"), path


def test_the_top_navigation_and_the_home_page_lead_to_the_archive(site: BuiltSite) -> None:
    for name in ("index.html", f"{SERIES_POST.docname}.html", "blog/archive.html"):
        nav = site.page(name).select_one(".bd-header nav .navbar-nav")
        labels = [a.get_text(strip=True) for a in nav.select("a")]
        assert labels[0] == "Archive", labels
    home = site.page("index.html")
    listing = home.select_one("#newest-posts .kb-post-list")
    more = home.select_one("#newest-posts p.kb-more")
    assert more.a["href"] == "blog/archive.html"
    assert listing in more.find_all_previous()  # after the newest posts


def test_no_page_has_a_left_sidebar(site: BuiltSite) -> None:
    for path in site.outdir.rglob("*.html"):
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        sidebar = page.select_one(".bd-sidebar-primary")
        if sidebar is None:
            continue
        assert "hide-on-wide" in sidebar["class"], path  # only the phone's menu
        assert sidebar.select(".sidebar-primary-item") == [], path
        assert "Collapse" not in sidebar.get_text(), path


@pytest.mark.parametrize("name", ["tag", "practice"])
def test_tag_and_practice_breadcrumbs_pass_through_the_tag_index(site: BuiltSite, name: str) -> None:
    crumbs = site.page(PAGES[name]).select(".bd-breadcrumbs .breadcrumb-item")
    assert crumbs[1].get_text(strip=True) == "Tags"
    assert crumbs[1].a["href"] == "../../tags.html"


def test_a_post_sits_under_the_archive_in_its_breadcrumbs(site: BuiltSite) -> None:
    crumbs = site.page(PAGES["post"]).select(".bd-breadcrumbs .breadcrumb-item")
    assert [c.get_text(strip=True) for c in crumbs[1:2]] == ["Archive"]


def test_the_home_page_is_titled_once(site: BuiltSite) -> None:
    assert site.page("index.html").title.get_text() == "QxP Knowledge Base"
    assert site.page("guide.html").title.get_text() == "Authoring guide — QxP Knowledge Base"


def test_the_footer_names_the_practice_and_links_feeds_and_the_guide(site: BuiltSite) -> None:
    footer = site.page(PAGES["post"]).select_one("footer .kb-footer")
    hrefs = [a["href"] for a in footer.select("a")]
    assert "../blog/atom.xml" in hrefs
    assert "../guide.html" in hrefs
    assert "../reviews.html" in hrefs, "the review queue"
    assert "QxP" in footer.get_text()


def test_the_not_found_page_links_home(site: BuiltSite) -> None:
    body = site.page("404.html").select_one(".bd-article")
    assert body.select_one('a[href="/index.html"]').get_text() == "the home page"
    assert body.select_one('a[href="/blog/archive.html"]') is not None


def test_dates_have_no_leading_zero(site: BuiltSite) -> None:
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    for path in site.outdir.rglob("*.html"):
        text = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text(" ")
        assert not re.search(rf"\b0\d ({months}|{months[:3]})", text), path
