// treatywatch dashboard: a small table sorter and the participant
// filter. Without JavaScript the column headings are links that sort on
// the server, and the filter form filters on the server.
(function () {
  "use strict";
  function sortTable(table, th) {
    var ths = Array.prototype.slice.call(th.parentNode.children);
    var col = ths.indexOf(th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows).filter(function (r) { return r.cells.length === ths.length; });
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute("data-sort") || "";
      var y = b.cells[col].getAttribute("data-sort") || "";
      if ((x === "") !== (y === "")) { return x === "" ? 1 : -1; } // empty last
      if (x === y) { return 0; }
      return (x < y ? -1 : 1) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    ths.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  }
  // fold is the name filter's normal form: lower case, no accents, curly
  // apostrophes straight (as the server's events.Normalize).
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[\u2018\u2019]/g, "'").toLowerCase().replace(/\s+/g, " ").trim();
  }
  function initFilter(form) {
    var table = document.getElementById("participants");
    if (!table) { return; }
    var q = form.querySelector("[name=q]"), region = form.querySelector("[name=region]"), status = form.querySelector("[name=status]");
    var count = document.getElementById("shown-count");
    function apply() {
      var want = fold(q.value), reg = region.value, st = status.value, shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        if (!row.hasAttribute("data-name")) { return; }
        var ok = (want === "" || row.getAttribute("data-name").indexOf(want) >= 0) &&
          (reg === "" || row.getAttribute("data-region") === reg) &&
          (st === "" || (" " + row.getAttribute("data-status") + " ").indexOf(" " + st + " ") >= 0);
        row.hidden = !ok;
        if (ok) { shown++; }
      });
      if (count) { count.textContent = String(shown); }
      // The address keeps the filter, for links and the back button.
      var params = new URLSearchParams(window.location.search);
      [["q", q.value.trim()], ["region", reg], ["status", st]].forEach(function (kv) {
        if (kv[1]) { params.set(kv[0], kv[1]); } else { params.delete(kv[0]); }
      });
      var qs = params.toString();
      window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : "") + window.location.hash);
    }
    q.addEventListener("input", apply);
    region.addEventListener("change", apply);
    status.addEventListener("change", apply);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });
  }
  function init() {
    var filter = document.getElementById("participant-filter");
    if (filter) { initFilter(filter); }
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        var link = th.querySelector("a");
        if (!link) { return; }
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = link.textContent;
        button.addEventListener("click", function () { sortTable(table, th); });
        th.replaceChild(button, link);
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
