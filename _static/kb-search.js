// The search page: Pagefind's index and API (pagefind/pagefind.js), shown as the
// site's own listings.  A large site has several indexes (pagefind/, pagefind-2/,
// ..., listed in data-bundles; kb/search_parts.py says why), each of a span of posts
// by date, newest first: each is asked, and their answers are merged.  The address carries the whole search
// (?q=audit&sort=date:desc&filter=author:Mike Levitt&filter=tag:GMP) after every
// change, as a history entry: a shared link shows the same results, Back steps
// through earlier searches, and the header's search box (?q=) lands here.
// Pagefind fetches its index, which browsers refuse for file:// pages; there the
// page only explains how to search (see the note in search.html).  A result is a
// post or a glossary term (the "kind" filter); a term's result leads to its entry
// on the glossary page (its "url" metadata, kb/search.py).
"use strict";

(function () {
  const note = document.getElementById("kb-search-offline");
  const app = document.getElementById("kb-search");
  if (location.protocol === "file:") {
    note.classList.add("kb-search-offline--shown");
    return;
  }

  const PAGE_SIZE = 10;
  const TYPING_PAUSE = 350; // ms without a key press before a query counts as typed
  const FILTERS = [
    ["kind", "Kind"],
    ["author", "Author"],
    ["practice", "Practice"],
    ["series", "Series"],
    ["tag", "Tag"],
    ["year", "Year"],
    ["regulation", "Regulation"],
  ];
  const input = document.getElementById("kb-search-input");
  const sort = document.getElementById("kb-search-sort");
  const panel = document.getElementById("kb-search-filters");
  const groups = document.getElementById("kb-search-filter-groups");
  const summary = document.getElementById("kb-search-filters-count");
  const message = document.getElementById("kb-search-message");
  const list = document.getElementById("kb-search-results");
  const more = document.getElementById("kb-search-more");
  const clear = document.getElementById("kb-search-clear");
  // Result addresses are relative to the site's root, wherever the site is served.
  const root = new URL(app.dataset.root, location.href);
  const base = root.pathname.replace(/[^/]*$/, "");

  let indexes = []; // one Pagefind per index, newest posts first, and whether it holds posts
  let shown = []; // every result of the current search; PAGE_SIZE more at a time
  let count = 0;
  let run = 0; // the newest search; answers to older ones are dropped

  // -- the search as an address, and back ----------------------------------

  function read(search) {
    const params = new URLSearchParams(search);
    const filters = {};
    for (const pair of params.getAll("filter")) {
      const at = pair.indexOf(":");
      if (at < 1) continue;
      const name = pair.slice(0, at);
      (filters[name] = filters[name] || []).push(pair.slice(at + 1));
    }
    const order = params.get("sort") || "";
    const known = [...sort.options].some((option) => option.value === order);
    return { q: params.get("q") || "", sort: known ? order : "", filters };
  }

  function current() {
    const filters = {};
    groups.querySelectorAll("input:checked").forEach((box) => {
      (filters[box.name] = filters[box.name] || []).push(box.value);
    });
    return { q: input.value.trim(), sort: sort.value, filters };
  }

  function address(state) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    if (state.sort) params.set("sort", state.sort);
    for (const [name] of FILTERS) {
      for (const value of state.filters[name] || []) params.append("filter", `${name}:${value}`);
    }
    const query = params.toString();
    return location.pathname + (query ? `?${query}` : "");
  }

  function record(state) {
    const next = address(state);
    if (next !== location.pathname + location.search) history.pushState(null, "", next);
  }

  function show(state) {
    input.value = state.q;
    sort.value = state.sort;
    groups.querySelectorAll("input").forEach((box) => {
      box.checked = (state.filters[box.name] || []).includes(box.value);
    });
  }

  // -- filters ----------------------------------------------------------------

  function drawFilters(available, state) {
    groups.replaceChildren();
    for (const [name, label] of FILTERS) {
      const values = { ...(available[name] || {}) };
      for (const value of state.filters[name] || []) if (!(value in values)) values[value] = 0;
      const names = Object.keys(values).sort((a, b) =>
        name === "year" ? b.localeCompare(a) : a.localeCompare(b, undefined, { sensitivity: "base" }),
      );
      if (!names.length) continue;
      const set = document.createElement("fieldset");
      set.className = "kb-search-filter";
      const legend = document.createElement("legend");
      legend.textContent = label;
      set.append(legend);
      names.forEach((value, index) => {
        const id = `kb-filter-${name}-${index}`;
        const row = document.createElement("div");
        row.className = "kb-search-option";
        const box = document.createElement("input");
        Object.assign(box, { type: "checkbox", id, name, value });
        box.checked = (state.filters[name] || []).includes(value);
        const text = document.createElement("label");
        text.htmlFor = id;
        text.textContent = value;
        const number = document.createElement("span");
        number.className = "kb-search-count";
        number.textContent = ` ${values[value]}`;
        text.append(number);
        row.append(box, text);
        set.append(row);
      });
      groups.append(set);
    }
  }

  function updateCounts(counts) {
    groups.querySelectorAll("input").forEach((box) => {
      const number = box.parentElement.querySelector(".kb-search-count");
      const n = (counts[box.name] || {})[box.value] || 0;
      number.textContent = ` ${n}`;
      box.parentElement.classList.toggle("kb-search-option--none", n === 0 && !box.checked);
    });
  }

  function describeFilters(state) {
    const active = Object.values(state.filters).reduce((n, values) => n + values.length, 0);
    summary.textContent = active ? ` (${active} on)` : "";
    clear.hidden = !active && !state.q;
  }

  // -- results, drawn as the site's listings ----------------------------------

  // Pagefind's excerpt is escaped text with <mark> around the matches: only the
  // marks become elements, everything else stays text.
  function excerptOf(html) {
    const out = document.createElement("p");
    out.className = "kb-post-excerpt";
    const parsed = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html").body.firstChild;
    for (const node of parsed.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.append(mark);
      } else {
        out.append(document.createTextNode(node.textContent));
      }
    }
    return out;
  }

  function item(data) {
    const li = document.createElement("li");
    li.className = "kb-post-item";
    const title = document.createElement("p");
    title.className = "kb-post-title";
    const link = document.createElement("a");
    link.className = "kb-search-result";
    link.href = data.meta.url ? new URL(data.meta.url, root).href : data.url;
    link.textContent = data.meta.title || data.url;
    title.append(link);
    li.append(title);

    const facts = [];
    if (data.meta.kind) facts.push(data.meta.kind);
    if (data.meta.date) facts.push(data.meta.date);
    if ((data.filters.author || []).length) facts.push(data.filters.author.join(", "));
    if (data.meta.part) facts.push(data.meta.part);
    if (facts.length) {
      const meta = document.createElement("p");
      meta.className = "kb-post-meta";
      meta.textContent = facts.join(" · ");
      li.append(meta);
    }
    if (data.excerpt) li.append(excerptOf(data.excerpt));
    const tags = data.filters.tag || [];
    if (tags.length) {
      const row = document.createElement("p");
      row.className = "kb-post-tags";
      for (const tag of tags) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "kb-tag";
        button.dataset.tag = tag;
        button.textContent = tag;
        button.title = `Show only posts tagged ${tag}`;
        row.append(button, " ");
      }
      li.append(row);
    }
    return li;
  }

  async function drawMore(thisRun) {
    const next = shown.slice(list.children.length, list.children.length + PAGE_SIZE);
    const data = await Promise.all(next.map((result) => result.data()));
    if (thisRun !== run) return;
    list.append(...data.map(item));
    more.hidden = list.children.length >= count;
  }

  async function search(state) {
    const thisRun = ++run;
    describeFilters(state);
    const filtered = Object.keys(state.filters).length > 0;
    if (app.dataset.recent) await refresh();
    if (thisRun !== run) return;
    if (!state.q && !filtered) {
      shown = [];
      count = 0;
      list.replaceChildren();
      more.hidden = true;
      message.textContent = "Type a word or phrase, or choose a filter.";
      updateCounts(await filtersOf());
      app.dataset.shown = address(state);
      return;
    }
    const [key, order] = state.sort ? state.sort.split(":") : [];
    const options = { filters: state.filters };
    if (key) options.sort = { [key]: order };
    const found = await searchAll(state.q || null, options);
    if (thisRun !== run) return;
    shown = found.results;
    count = shown.length;
    list.replaceChildren();
    // Pagefind leaves out of a sorted search what has no date to sort by: glossary terms.
    const words = (state.q ? ` for “${state.q}”` : "") + (key ? ", posts only" : "");
    message.textContent = count ? `${count} result${count === 1 ? "" : "s"}${words}` : `No results${words}`;
    updateCounts(found.filters || {});
    await drawMore(thisRun);
    // Which search the page now shows (its address): what tests and scripts can wait for.
    if (thisRun === run) app.dataset.shown = address(state);
  }

  // -- the indexes, asked as one ---------------------------------------------

  function mergeCounts(each) {
    const merged = {};
    for (const counts of each) {
      for (const [name, values] of Object.entries(counts || {})) {
        const into = (merged[name] = merged[name] || {});
        for (const [value, n] of Object.entries(values)) into[value] = (into[value] || 0) + n;
      }
    }
    return merged;
  }

  async function filtersOf() {
    const each = await Promise.all(indexes.map(({ pagefind }) => pagefind.filters()));
    if (!recent) return mergeCounts(each);
    for (const old of Object.values(recent.replaced)) subtract(each[0], old);
    const merged = mergeCounts([...each, await recent.pagefind.filters()]);
    // A value that only pages saved since had: no page has it now.
    for (const values of Object.values(merged)) for (const value in values) if (!values[value]) delete values[value];
    return merged;
  }

  // Sorted by date, the answers of the indexes that hold posts follow each other
  // (oldest first: the last index first); by best match, they are merged by
  // score, as Pagefind's own mergeIndex does (a stable sort: one index's order
  // stays as it is).
  async function searchAll(term, options) {
    // Several indexes each hold a hidden page of every word of the site, which
    // is never a result (kb/search_parts.py says why); so does the preview's recent index.
    const hidden = { ...options, filters: { ...options.filters, not: { [app.dataset.hidden]: "yes" } } };
    const order = options.sort ? Object.values(options.sort)[0] : null;
    const asked = order ? indexes.filter((index) => index.posts) : indexes;
    const each = await Promise.all(
      asked.map(({ pagefind }) => pagefind.search(term, indexes.length > 1 ? hidden : options)),
    );
    const saved = recent ? await savedSince(term, hidden, each) : null;
    const results = (order === "asc" ? [...each].reverse() : each).flatMap((found) => found.results);
    if (saved && order) {
      await byDate(results, saved.results, order);
    } else if (saved) {
      results.push(...saved.results);
    }
    if (!order && (each.length > 1 || saved)) results.sort((a, b) => b.score - a.score);
    const counts = each.map((found) => found.filters);
    return { results, filters: mergeCounts(saved ? [...counts, saved.filters] : counts) };
  }

  async function load({ folder, posts }) {
    const pagefind = await import(`${base}${folder}/pagefind.js`);
    await pagefind.options({ baseUrl: base, excerptLength: 30 });
    await pagefind.init();
    return { pagefind, posts, folder };
  }

  // -- the preview's recent index (kb/preview/recent.py) ----------------------------
  // After a save, `make serve` writes a small index of the pages saved since
  // its main index was written, then the main index; the recent index stands
  // beside the main index that kb-recent.json names, and is asked with it.

  let recent = null; // { pagefind, meta, replaced: {id: the filters it had there} }
  let mainMeta = null; // which main index is loaded: its metadata files' names

  async function fetchJson(url) {
    try {
      const response = await fetch(url, { cache: "no-store" });
      return response.ok ? await response.json() : null;
    } catch {
      return null; // being written
    }
  }

  function metaOf(entry) {
    return entry && Object.values(entry.languages || {}).map((language) => language.hash).join(",");
  }

  // Before each search in the preview: the main index, if written again, is
  // loaded again, and the recent index beside it, if there is one (one search
  // at a time: searches typed quickly may overlap).
  let refreshed = Promise.resolve();
  function refresh() {
    refreshed = refreshed.then(refreshNow, refreshNow);
    return refreshed;
  }

  async function refreshNow() {
    const main = indexes[0];
    const [entry, record] = await Promise.all([
      fetchJson(`${base}${main.folder}/pagefind-entry.json`),
      fetchJson(`${base}${app.dataset.recent}/kb-recent.json`),
    ]);
    const meta = metaOf(entry);
    if (meta && mainMeta !== null && meta !== mainMeta) {
      await main.pagefind.destroy();
      indexes[0] = await load(main);
    }
    mainMeta = meta || mainMeta;
    const wanted = record && record.main === mainMeta ? record : null;
    if ((wanted && wanted.meta) === (recent && recent.meta)) return;
    if (recent) await recent.pagefind.destroy();
    recent = null;
    if (wanted) {
      const index = await load({ folder: app.dataset.recent, posts: true });
      recent = { ...index, meta: wanted.meta, replaced: wanted.replaced };
    }
  }

  function subtract(counts, filters) {
    for (const [name, values] of Object.entries(filters || {})) {
      for (const value of values) if (counts[name] && counts[name][value]) counts[name][value] -= 1;
    }
  }

  // The main index's answers for the pages saved since are their old text, and
  // where no page of it holds a word searched for (the recent index's hidden
  // page of the main index's words does not answer), its answers are pages of
  // another word: both are left out, with their filter counts.  Returns the
  // recent index's answers.
  async function savedSince(term, options, each) {
    const [saved, words] = await Promise.all([
      recent.pagefind.search(term, options),
      term ? recent.pagefind.search(term, { filters: { [app.dataset.hidden]: "yes" } }) : null,
    ]);
    const unknown = words !== null && words.results.length === 0;
    for (const found of each) {
      if (unknown) {
        for (const values of Object.values(found.filters || {})) for (const value in values) values[value] = 0;
        found.results = [];
        continue;
      }
      for (const result of found.results) subtract(found.filters, recent.replaced[result.id]);
      found.results = found.results.filter((result) => !(result.id in recent.replaced));
    }
    return saved;
  }

  // Each saved page where its date puts it among *results* (after those of the same date).
  async function byDate(results, saved, order) {
    const dateOf = async (result) => (await result.data()).meta[app.dataset.sortMeta] || "";
    for (const result of saved) {
      const day = await dateOf(result);
      let [low, high] = [0, results.length];
      while (low < high) {
        const middle = (low + high) >> 1;
        const other = await dateOf(results[middle]);
        if (order === "asc" ? other <= day : other >= day) low = middle + 1;
        else high = middle;
      }
      results.splice(low, 0, result);
    }
  }

  // -- wiring -------------------------------------------------------------------

  let typing = null;
  input.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const state = current();
      record(state);
      search(state);
    }, TYPING_PAUSE);
  });
  document.getElementById("kb-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    const state = current();
    record(state);
    search(state);
  });
  function changed() {
    const state = current();
    record(state);
    search(state);
  }
  sort.addEventListener("change", changed);
  groups.addEventListener("change", changed);
  list.addEventListener("click", (event) => {
    const tag = event.target.closest("button[data-tag]");
    if (!tag) return;
    const box = groups.querySelector(`input[name="tag"][value="${CSS.escape(tag.dataset.tag)}"]`);
    if (box && !box.checked) {
      box.checked = true;
      changed();
    }
  });
  more.addEventListener("click", () => drawMore(run));
  clear.addEventListener("click", () => {
    show({ q: "", sort: sort.value, filters: {} });
    changed();
    input.focus();
  });
  window.addEventListener("popstate", () => {
    const state = read(location.search);
    show(state);
    search(state);
  });

  // On a phone the filters start folded, so that the first result is on the first screen.
  const narrow = window.matchMedia("(max-width: 767.98px)");
  panel.open = !narrow.matches;
  narrow.addEventListener("change", () => {
    panel.open = !narrow.matches;
  });

  (async function start() {
    try {
      indexes = await Promise.all(JSON.parse(app.dataset.bundles).map(load));
      if (app.dataset.recent) await refresh();
    } catch (error) {
      note.classList.add("kb-search-offline--shown");
      throw error;
    }
    const state = read(location.search);
    history.replaceState(null, "", address(state)); // one spelling of each search
    drawFilters(await filtersOf(), state);
    show(state);
    // Shown only now, so that nothing typed before is overwritten by the address.
    note.hidden = true;
    app.hidden = false;
    if (!state.q) input.focus();
    app.classList.add("kb-search--ready");
    await search(state);
  })();
})();
