/* Docent staff console: the gap report (#gaps). Questions Docent could not serve, grouped by meaning,
 * with server-drawn SVG charts, a CSV export, and the handoff outbox with a retry button.
 * Independent of console.js: it reads the same session key and shows its own view in place of #app. */
(function () {
  "use strict";
  var KEY = "docent:console:key", view = null;
  function $(id) { return document.getElementById(id); }
  var h = window.DocentConsole.h;  // console.js: text only, links only with safe schemes
  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : ""; }
  var api = window.DocentConsole.api;  // console.js: the session key, errors as Error(detail)
  // Charts are standalone SVG drawn by the server; as <img> they cannot run anything.
  function chart(svg, alt) {
    return h("img", { "class": "gap-chart", alt: alt, src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg) });
  }
  function sparkline(trend) {
    var ns = "http://www.w3.org/2000/svg", max = Math.max.apply(null, trend.map(function (t) { return t.count; }).concat([1]));
    var svg = document.createElementNS(ns, "svg"), w = 8 * trend.length;
    svg.setAttribute("width", String(w)); svg.setAttribute("height", "20"); svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "per week: " + trend.map(function (t) { return t.week + " " + t.count; }).join(", "));
    trend.forEach(function (t, i) {
      var r = document.createElementNS(ns, "rect"), bh = Math.max(1, 18 * t.count / max);
      r.setAttribute("x", String(i * 8)); r.setAttribute("y", String(19 - bh)); r.setAttribute("width", "6");
      r.setAttribute("height", String(bh)); r.setAttribute("fill", t.count ? "#d9480f" : "#dee2e6"); svg.appendChild(r);
    });
    return svg;
  }
  function groupRow(g) {
    var kinds = [g.kinds.abstained + " unanswered", g.kinds.thumbs_down + " thumbs-down", g.kinds.handoff + " handoffs"].join(" · ");
    var example = h("details", {}, [h("summary", { text: "Example conversation" }),
      h("ol", { "class": "gap-transcript" }, g.example.transcript.map(function (t) {
        return h("li", { "class": t.role }, [h("strong", { text: t.role === "user" ? "Customer: " : "Docent: " }), t.content]);
      }))]);
    return h("tr", { "data-status": g.status }, [
      h("td", {}, [h("div", { "class": "gap-label", text: g.label }), h("div", { "class": "hint", text: kinds }), example]),
      h("td", {}, [h("span", { "class": "badge " + g.status, text: g.status === "closed" ? "closed " + when(g.closed_at) : "open" })]),
      h("td", { "class": "num", text: String(g.size) }),
      h("td", {}, [sparkline(g.trend)]),
      h("td", {}, g.pages.map(function (p) { return h("div", { "class": "hint", text: p.doc_path + " (" + p.count + ")" }); }))]);
  }
  function handoffs(list) {
    var box = h("section", { "aria-labelledby": "gap-ho-h" }, [h("h2", { id: "gap-ho-h", text: "Handoffs" })]);
    api("/v1/console/handoffs?limit=50").then(function (b) {
      if (!b.enabled) box.appendChild(h("p", { "class": "hint", text: "Handoff is not configured (DOCENT_HANDOFF__KIND); the widget shows the support link." }));
      if (!b.handoffs.length) box.appendChild(h("p", { "class": "hint", text: "No handoffs yet." }));
      box.appendChild(h("ul", { "class": "items" }, b.handoffs.map(function (x) {
        var li = h("li", { "data-status": x.status }, [h("strong", { text: x.reference + " · " + x.status }),
          " " + x.attempts + " attempt(s) · " + when(x.created_at) + " · " + (x.email || ""),
          h("div", { "class": "hint", text: x.question }), x.last_error ? h("div", { "class": "err", text: x.last_error }) : null]);
        if (x.status !== "delivered") li.appendChild(h("button", { type: "button", "class": "ghost", text: "Retry now", onclick: function (e) {
          e.target.disabled = true;
          api("/v1/console/handoffs/" + encodeURIComponent(x.id) + "/retry", { method: "POST" }).then(render, function (err) {
            e.target.disabled = false; li.appendChild(h("div", { "class": "err", text: err.message }));
          });
        } }));
        return li;
      })));
    }, function (err) { box.appendChild(h("p", { "class": "err", text: err.message })); });
    return box;
  }
  function download() {
    api("/v1/console/gaps.csv", { raw: true }).then(function (r) { return r.blob(); }).then(function (blob) {
      // Not through h(): it renders links with other schemes (blob: included) as plain text.
      var a = document.createElement("a"), url = URL.createObjectURL(blob);
      a.href = url; a.download = "docent-gaps.csv";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    });
  }
  function render() {
    if (!view) return;
    view.textContent = "";
    view.appendChild(h("div", { "class": "row" }, [h("h1", { id: "gaps-h", text: "Gap report" }),
      h("button", { type: "button", "class": "ghost", text: "Download CSV", onclick: download })]));
    var status = h("p", { "class": "status", role: "status", text: "Grouping questions…" });
    view.appendChild(status);
    api("/v1/console/gaps?charts=true").then(function (r) {
      status.textContent = r.items + " unanswered, thumbs-down or handed-off questions in " + r.groups.length +
        " groups over the last " + r.weeks.length + " weeks (" + r.took_ms + " ms).";
      view.appendChild(h("div", { "class": "gap-charts" }, [chart(r.charts.gaps, "Gap groups by size"),
        chart(r.charts.deflection, "Deflection rate per day"), chart(r.charts.citations, "Most cited pages")]));
      view.appendChild(h("section", { "aria-labelledby": "gap-g-h" }, [h("h2", { id: "gap-g-h", text: "Gaps, biggest first" }),
        h("table", { "class": "gap-table" }, [h("thead", {}, [h("tr", {}, ["Question (most central wording)", "Status", "Size", "Weeks", "Pages that fell short"].map(function (t) { return h("th", { text: t }); }))]),
          h("tbody", {}, r.groups.map(groupRow))])]));
      view.appendChild(h("section", { "aria-labelledby": "gap-q-h" }, [h("h2", { id: "gap-q-h", text: "Top questions" }),
        h("ol", { "class": "items" }, r.top_questions.map(function (q) { return h("li", { text: q.question + " (" + q.count + ")" }); }))]));
      view.appendChild(handoffs());
    }, function (err) { status.textContent = "Could not load the gap report: " + err.message; status.className = "err"; });
  }
  function route() {
    // Shown for #gaps once signed in (console.js hides #signin then); gone on sign-out or another hash.
    var on = location.hash === "#gaps" && !!sessionStorage.getItem(KEY) && $("signin").hidden;
    if (on && !view) {
      view = h("section", { id: "gaps-view", "class": "gaps", "aria-labelledby": "gaps-h" });
      $("main").insertBefore(view, $("main").firstChild);
      render();
    } else if (!on && view) {
      view.remove(); view = null;
      if (sessionStorage.getItem(KEY) && $("signin").hidden) $("app").hidden = false;
    }
    if (view && !$("app").hidden) $("app").hidden = true;
  }
  // The console's policy allows inline styles (the eval report needs them); these are the view's own.
  var style = document.createElement("style");
  style.textContent = ".gaps{padding:16px 24px;max-width:1200px}.gaps .row{display:flex;gap:12px;align-items:center}" +
    ".gap-charts{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.gap-chart{max-width:100%;border:1px solid #dee2e6;border-radius:6px}" +
    ".gap-table{border-collapse:collapse;width:100%}.gap-table th,.gap-table td{border-bottom:1px solid #e9ecef;padding:6px 8px;" +
    "text-align:left;vertical-align:top}.gap-table td.num{text-align:right}.gap-label{font-weight:600}" +
    ".badge{padding:2px 6px;border-radius:10px;font-size:12px;white-space:nowrap}.badge.open{background:#fff4e6;color:#d9480f}" +
    ".badge.closed{background:#ebfbee;color:#2f9e44}.gap-transcript li{margin:4px 0}";
  document.head.appendChild(style);
  window.addEventListener("hashchange", route);
  // console.js signs in and out by toggling #signin and #app: follow it.
  document.addEventListener("DOMContentLoaded", function () {
    var follow = new MutationObserver(route);
    ["app", "signin"].forEach(function (id) { follow.observe($(id), { attributes: true, attributeFilter: ["hidden"] }); });
    setTimeout(route, 0);
  });
})();
