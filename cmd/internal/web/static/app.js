// treatywatch dashboard: a small table sorter. Without JavaScript the
// column headings are links that sort on the server.
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
  function init() {
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
