/* Docent evaluation report: click a table header to sort by it (numbers by data-v; blanks last);
 * click again to reverse. Inlined into report files (eval/report_html.py) and served from here to
 * the console, whose Content-Security-Policy allows scripts from this origin only. */
(function () {
  "use strict";
  document.querySelectorAll("table.sortable th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1; th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
        if (x === "" || x === undefined) return 1; if (y === "" || y === undefined) return -1;
        var nx = parseFloat(x), ny = parseFloat(y);
        return (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny) * dir;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
