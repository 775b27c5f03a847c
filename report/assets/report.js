// Sorting, filtering and paging of the report's tables, in the browser
// only. State lives in the URL fragment (#inventory.sort=size&inventory.dir=desc
// &inventory.q=text&inventory.f=rejected&inventory.n=all), so a view can be
// bookmarked or shared, and tests can open the file at a given view.
(function () {
  "use strict";
  let state = new URLSearchParams(location.hash.slice(1));
  const tables = [];

  function save() {
    history.replaceState(null, "", "#" + state.toString());
  }

  function setup(table) {
    const id = table.id;
    const tbody = table.tBodies[0];
    const rows = Array.from(tbody.rows).filter((r) => !r.querySelector("td.none"));
    const heads = Array.from(table.tHead.rows[0].cells);
    const page = parseInt(table.dataset.page || "0", 10);
    const input = document.querySelector('input[data-for="' + id + '"]');
    const select = document.querySelector('select[data-for="' + id + '"]');
    const more = document.querySelector('button[data-for="' + id + '"]');
    const out = document.getElementById(id + "-count");
    const sheet = document.styleSheets[0];
    let texts = null;
    let order = rows;
    let orderKey = "";

    heads.forEach((th, i) => {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      if (th.dataset.type === "num" && sheet) {
        sheet.insertRule("#" + id + " td:nth-child(" + (i + 1) + "){text-align:right}", sheet.cssRules.length);
      }
      const toggle = () => {
        const k = th.dataset.k;
        const desc = state.get(id + ".sort") === k ? state.get(id + ".dir") !== "desc" : th.dataset.type === "num";
        state.set(id + ".sort", k);
        state.set(id + ".dir", desc ? "desc" : "asc");
        save();
        apply();
      };
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
    });
    if (input) {
      let timer = 0;
      input.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => { setOrDelete(id + ".q", input.value.trim()); state.delete(id + ".n"); save(); apply(); }, 150);
      });
    }
    if (select) {
      select.addEventListener("change", () => { setOrDelete(id + ".f", select.value); state.delete(id + ".n"); save(); apply(); });
    }
    if (more) {
      more.addEventListener("click", () => { state.set(id + ".n", "all"); save(); apply(); });
    }

    function value(row, col, num) {
      const c = row.cells[col];
      if (!c) return num ? -Infinity : "";
      const v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
      if (!num) return v.toLowerCase();
      const n = parseFloat(v);
      return isNaN(n) ? -Infinity : n;
    }

    function sorted() {
      const k = state.get(id + ".sort") || "";
      const desc = state.get(id + ".dir") === "desc";
      const col = heads.findIndex((th) => th.dataset.k === k);
      heads.forEach((th, i) => th.setAttribute("aria-sort", i === col ? (desc ? "descending" : "ascending") : "none"));
      const key = col + ":" + desc;
      if (key === orderKey) return order;
      orderKey = key;
      if (col < 0) return (order = rows);
      const num = heads[col].dataset.type === "num";
      const keyed = rows.map((r, i) => ({ r: r, i: i, v: value(r, col, num) }));
      keyed.sort((a, b) => {
        const c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
        return (desc ? -c : c) || a.i - b.i;
      });
      order = keyed.map((x) => x.r);
      const frag = document.createDocumentFragment();
      order.forEach((r) => frag.appendChild(r));
      tbody.appendChild(frag);
      return order;
    }

    function apply() {
      const q = (state.get(id + ".q") || "").toLowerCase();
      const f = state.get(id + ".f") || "";
      const all = state.get(id + ".n") === "all";
      if (q && !texts) texts = new Map(rows.map((r) => [r, r.textContent.toLowerCase()]));
      let match = 0;
      let shown = 0;
      sorted().forEach((r) => {
        const ok = (!q || texts.get(r).includes(q)) && (!f || (" " + (r.dataset.f || "") + " ").includes(" " + f + " "));
        if (ok) match++;
        const visible = ok && (all || !page || match <= page);
        if (r.hidden === visible) r.hidden = !visible;
        if (visible) shown++;
      });
      if (out) {
        out.textContent = shown === match
          ? match + " of " + rows.length + " rows"
          : "showing " + shown + " of " + match + " matching rows (" + rows.length + " in all)";
      }
      if (more) more.hidden = shown === match;
      if (input && document.activeElement !== input) input.value = state.get(id + ".q") || "";
      if (select) select.value = f;
    }
    tables.push(apply);
    apply();
  }

  function setOrDelete(k, v) {
    if (v) state.set(k, v); else state.delete(k);
  }

  document.querySelectorAll("table[data-sortable]").forEach(setup);
  window.addEventListener("hashchange", () => {
    state = new URLSearchParams(location.hash.slice(1));
    tables.forEach((apply) => apply());
  });
})();
