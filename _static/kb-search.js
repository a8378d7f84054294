// The search page: Pagefind's interface, a sort order, and the query from ?q=.
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

  const select = document.getElementById("kb-search-sort");
  let ui = null;

  function selectedFilters() {
    const chosen = {};
    document.querySelectorAll("#kb-search .pagefind-ui__filter-checkbox:checked").forEach((box) => {
      (chosen[box.name] = chosen[box.name] || []).push(box.value);
    });
    return chosen;
  }

  function start(term, filters) {
    const [key, order] = select.value ? select.value.split(":") : [];
    ui = new PagefindUI({
      element: "#kb-search",
      showSubResults: true,
      pageSize: 10,
      showImages: false,
      resetStyles: false,
      autofocus: !term,
      sort: key ? { [key]: order } : null,
      translations: { placeholder: "Search posts" },
    });
    // Pagefind's field is named only by its placeholder; the page's label names it.
    const input = document.querySelector("#kb-search .pagefind-ui__search-input");
    if (input) input.id = "kb-search-input";
    if (term) ui.triggerSearch(term);
    if (filters && Object.keys(filters).length) ui.triggerFilters(filters);
  }

  select.addEventListener("change", () => {
    const input = document.querySelector("#kb-search input[type=text], #kb-search input[type=search]");
    const term = input ? input.value : "";
    const filters = selectedFilters();
    ui.destroy();
    start(term, filters);
  });

  const params = new URLSearchParams(location.search);
  start(params.get("q") || "", null);
})();
