// The search page: Pagefind's interface, a sort order, and the state in the URL
// (?q=term&sort=date:desc&filter=author:Name), so that a search can be shared
// and the header's search box (which sends ?q=) lands on its results.
// Pagefind fetches its index, which browsers refuse for file:// pages; there the
// page only explains how to search (see the note in search.html).
"use strict";

(function () {
  const note = document.getElementById("kb-search-offline");
  if (location.protocol === "file:" || typeof PagefindUI === "undefined") {
    note.classList.add("kb-search-offline--shown");
    return;
  }
  note.hidden = true;

  const params = new URLSearchParams(location.search);
  const term = params.get("q") || "";
  const select = document.getElementById("kb-search-sort");
  if ([...select.options].some((option) => option.value === params.get("sort"))) {
    select.value = params.get("sort");
  }
  const [key, order] = select.value ? select.value.split(":") : [];

  // Result addresses are relative to the site's root, wherever the site is served.
  const root = new URL(document.getElementById("kb-search").dataset.root, location.href);
  const ui = new PagefindUI({
    element: "#kb-search",
    baseUrl: root.pathname.replace(/[^/]*$/, ""),
    showSubResults: true,
    showImages: false,
    resetStyles: false,
    pageSize: 10,
    excerptLength: 40,
    autofocus: !term,
    sort: key ? { [key]: order } : null,
    translations: { placeholder: "Search posts" },
  });
  // Pagefind's field is named only by its placeholder; the page's label names it.
  const input = document.querySelector("#kb-search .pagefind-ui__search-input");
  if (input) input.id = "kb-search-input";

  const filters = {};
  for (const pair of params.getAll("filter")) {
    const [name, ...value] = pair.split(":");
    (filters[name] = filters[name] || []).push(value.join(":"));
  }
  if (Object.keys(filters).length) ui.triggerFilters(filters);
  if (term) ui.triggerSearch(term);

  // A new order reloads the page with the same search, filters and the new sort:
  // Pagefind's interface takes its sort order only when it starts.
  select.addEventListener("change", () => {
    const next = new URLSearchParams();
    if (input && input.value) next.set("q", input.value);
    if (select.value) next.set("sort", select.value);
    document.querySelectorAll("#kb-search .pagefind-ui__filter-checkbox:checked").forEach((box) => {
      next.append("filter", `${box.name}:${box.value}`);
    });
    location.search = next.toString();
  });
})();
