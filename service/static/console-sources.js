/* Docent staff console: docs sources (#sources). Each named source with its last sync (when, how long,
 * pages added, changed, deleted, unchanged and failed), its errors and a "Sync now" button: the admin
 * API's GET /v1/admin/sources and POST /v1/admin/sources/{name}/sync, so admin keys only.
 * Independent of console.js: it reads the same session key and shows its own view in place of #app. */
(function () {
  "use strict";
  var KEY = "docent:console:key", view = null, poll = null, OPEN_ERRORS = 3;
  function $(id) { return document.getElementById(id); }
  var h = window.DocentConsole.h;  // console.js: text only, links only with safe schemes
  var api = window.DocentConsole.api;  // console.js: the session key, errors as Error(detail) with .status
  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : ""; }
  var rel = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  function ago(ts) {  // "3 minutes ago", "in 2 hours"
    var s = ts - Date.now() / 1000, a = Math.abs(s);
    var units = [[60, "second", 1], [3600, "minute", 60], [86400, "hour", 3600], [Infinity, "day", 86400]];
    for (var i = 0; i < units.length; i++) if (a < units[i][0]) return rel.format(Math.round(s / units[i][2]), units[i][1]);
  }
  function every(s) {
    if (s % 86400 === 0) return s / 86400 + " d";
    if (s % 3600 === 0) return s / 3600 + " h";
    return s % 60 === 0 ? s / 60 + " min" : s + " s";
  }
  function schedule(s) {
    if (s.kind === "folder") return "on change (the folder is watched)";
    return s.schedule_s > 0 ? "every " + every(s.schedule_s) : "on demand only";
  }
  function stamp(ts, none) {  // relative, with the absolute time beside it
    return ts ? [h("time", { datetime: new Date(ts * 1000).toISOString(), text: ago(ts) }), h("span", { "class": "hint", text: " · " + when(ts) })]
      : [h("span", { "class": "hint", text: none })];
  }
  function field(label, kids) { return [h("dt", { text: label }), h("dd", {}, kids)]; }

  function errors(list) {
    if (!list.length) return null;
    var items = h("ul", { "class": "src-errors" }, list.map(function (e) { return h("li", { "class": "err", text: e }); }));
    var label = list.length + (list.length === 1 ? " error" : " errors") + (list.length >= 50 ? " (the first 50)" : "");
    // Many errors (a crawl that failed page by page) would bury the counts: collapsed, with the count.
    return list.length > OPEN_ERRORS ? h("details", {}, [h("summary", { text: label }), items])
      : h("div", {}, [h("h4", { text: label }), items]);
  }
  function outcome(s, broke) {  // the last sync's badge
    if (!s.last_sync) return { "class": "badge light", text: "never synced" };
    if (broke) return { "class": "badge bad", text: "last sync failed" };
    if (s.failed) return { "class": "badge warn", text: s.failed + (s.failed === 1 ? " page failed" : " pages failed") };
    return s.errors.length ? { "class": "badge warn", text: "last sync reported errors" } : { "class": "badge ok", text: "last sync ok" };
  }
  function card(s) {
    var id = "src-" + s.name, broke = /^sync failed/.test(s.errors[0] || "");  // the whole sync, not a page
    var button = h("button", { type: "button", "class": "ghost", disabled: s.syncing, text: s.syncing ? "Syncing…" : "Sync now",
      "aria-label": "Sync " + s.name + " now", onclick: function () { syncNow(s.name, button, note); } });
    var note = h("p", { "class": "err", role: "alert" });
    var badges = h("p", { "class": "badges" }, [h("span", { "class": "badge light", text: s.kind }),
      h("span", { "class": "badge " + (s.visibility === "internal" ? "int" : "light"),
        text: s.visibility + (s.groups.length ? ": " + s.groups.join(", ") : "") }),
      s.syncing ? h("span", { "class": "badge warn", text: "syncing" }) : null,
      h("span", outcome(s, broke))]);
    var meta = h("dl", { "class": "src-meta" }, [].concat(
      field("Location", [h("code", { text: s.location })]),
      field("Schedule", [schedule(s)]),
      field("Last sync", stamp(s.last_sync, "never")),
      s.last_sync && !broke ? field("Took", [s.seconds.toFixed(s.seconds < 10 ? 2 : 0) + " s"]) : [],
      s.next_sync ? field("Next sync", stamp(s.next_sync, "")) : [],
      s.version ? field("Commit", [h("code", { text: s.version.slice(0, 12) })]) : []));
    var counts = h("dl", { "class": "src-counts", "aria-label": "Pages in the last sync" },
      [["added", s.added], ["changed", s.changed], ["deleted", s.deleted], ["unchanged", s.unchanged], ["failed", s.failed]].map(function (c) {
        return h("div", { "class": "src-count" + (c[0] === "failed" && c[1] ? " bad" : "") }, [h("dt", { text: c[0] }), h("dd", { text: String(c[1]) })]);
      }));
    return h("article", { "class": "src-card", "aria-labelledby": id, "data-source": s.name }, [
      h("div", { "class": "row" }, [h("h2", { id: id, text: s.name }), button]), badges, meta, counts, errors(s.errors), note]);
  }
  function syncNow(name, button, note) {
    button.disabled = true; button.textContent = "Syncing…"; note.textContent = "";
    api("/v1/admin/sources/" + encodeURIComponent(name) + "/sync", { method: "POST" }).then(load, function (err) {
      note.textContent = "Could not start a sync: " + err.message;
      button.disabled = err.status === 409; button.textContent = err.status === 409 ? "Syncing…" : "Sync now";
      if (err.status === 409) load();
    });
  }
  function empty() {
    return h("div", { "class": "src-empty" }, [
      h("p", { text: "No named sources are configured: Docent indexes the one docs folder (DOCENT_DOCS_DIR)." }),
      h("p", {}, ["To index docs from where they live (a folder, a Git repository, a website), list them in a YAML file, point ",
        h("code", { text: "DOCENT_SOURCES_FILE" }), " at it (or give the list as JSON in ", h("code", { text: "DOCENT_SOURCES" }),
        ") and restart Docent. The README section “Docs sources” shows an example."])]);
  }
  function load() {
    if (!view) return;
    var status = $("sources-status"), list = $("sources-list");
    api("/v1/admin/sources").then(function (rows) {
      if (!view) return;
      list.textContent = "";
      status.textContent = rows.length ? rows.length + (rows.length === 1 ? " source" : " sources") + " · checked " + new Date().toLocaleTimeString() : "";
      if (!rows.length) list.appendChild(empty());
      rows.forEach(function (s) { list.appendChild(card(s)); });
      // While a sync runs, check again shortly; stop once none does.
      clearTimeout(poll);
      if (rows.some(function (s) { return s.syncing; })) poll = setTimeout(load, 1500);
    }, function (err) {
      list.textContent = "";
      status.className = "err";
      status.textContent = err.status === 403 ? "Docs sources are shown to admin keys only (GET /v1/admin/sources)."
        : "Could not load the sources: " + err.message;
    });
  }
  function render() {
    view.appendChild(h("div", { "class": "row" }, [h("h1", { id: "sources-h", text: "Docs sources" }),
      h("span", { "class": "src-actions" }, [h("button", { type: "button", "class": "ghost", text: "Refresh", onclick: load }),
        h("a", { href: "#", "class": "src-back", text: "Back to the console" })])]));
    view.appendChild(h("p", { "class": "hint", text: "Where the docs come from, and what each source's last sync did. " +
      "Syncs run on each source's schedule in docent serve (or the docent ingest --watch worker); Sync now runs one at once." }));
    view.appendChild(h("p", { id: "sources-status", "class": "status", role: "status", text: "Loading…" }));
    view.appendChild(h("div", { id: "sources-list", "class": "src-list" }));
    load();
  }
  function route() {
    // Shown for #sources once signed in (console.js hides #signin then); gone on sign-out or another hash.
    var on = location.hash === "#sources" && !!sessionStorage.getItem(KEY) && $("signin").hidden;
    var link = $("nav-sources");
    if (link) { if (on) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current"); }
    if (on && !view) {
      view = h("section", { id: "sources-view", "class": "sources", "aria-labelledby": "sources-h" });
      $("main").insertBefore(view, $("main").firstChild);
      render();
    } else if (!on && view) {
      clearTimeout(poll); view.remove(); view = null;
      if (sessionStorage.getItem(KEY) && $("signin").hidden) $("app").hidden = false;
    }
    if (view && !$("app").hidden) $("app").hidden = true;
  }
  window.addEventListener("hashchange", route);
  // console.js signs in and out by toggling #signin and #app: follow it.
  document.addEventListener("DOMContentLoaded", function () {
    var follow = new MutationObserver(route);
    ["app", "signin"].forEach(function (id) { follow.observe($(id), { attributes: true, attributeFilter: ["hidden"] }); });
    setTimeout(route, 0);
  });
})();
