/* Docent staff console: sign in with a staff key (kept in sessionStorage, sent as X-API-Key), ask with
 * internal visibility, see why an answer was given, and review feedback and unanswered questions. */
(function () {
  "use strict";
  var KEY = "docent:console:key", $ = function (id) { return document.getElementById(id); };
  var state = { key: sessionStorage.getItem(KEY), conv: null };

  // Only http(s), mailto and relative URLs become links (the rule of docent/urls.py, also in widget.js):
  // judged after dropping the controls and spaces browsers ignore, so "java\tscript:" is refused too.
  function safeUrl(url) {
    var m = /^([a-z][a-z0-9+.\-]*):/i.exec(String(url).replace(/[\u0000-\u0020\u007f]/g, ""));
    return !m || /^(https?|mailto)$/i.test(m[1]);
  }
  function h(tag, attrs, kids) {  // text only: nothing from the API is parsed as HTML, except rendered docs
    if (tag === "a" && attrs && !safeUrl(attrs.href)) {  // another scheme: plain text, never a link
      var plain = {};
      for (var a in attrs) if (a !== "href" && a !== "target" && a !== "rel") plain[a] = attrs[a];
      tag = "span"; attrs = plain;
    }
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) el.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c !== null && c !== undefined) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }
  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : ""; }
  function num(x, d) { return typeof x === "number" ? x.toFixed(d === undefined ? 3 : d) : "–"; }

  function api(path, opts) {
    opts = opts || {};
    var headers = { "X-API-Key": state.key };
    if (opts.body) headers["Content-Type"] = "application/json";
    return fetch(path, { method: opts.method || "GET", headers: headers, body: opts.body ? JSON.stringify(opts.body) : undefined })
      .then(function (r) {
        if (r.status === 401) { signOut("Your key was not accepted. Sign in again."); throw new Error("unauthorized"); }
        if (!r.ok) return r.json().catch(function () { return {}; }).then(function (b) {
          var e = new Error(b.detail || r.statusText); e.status = r.status; throw e;
        });
        return opts.raw ? r : r.json();
      });
  }

  // --- sign in -------------------------------------------------------------------------------
  function signOut(message) {
    state.key = null; sessionStorage.removeItem(KEY);
    $("app").hidden = true; $("signin").hidden = false; $("signout").hidden = true; $("who").textContent = "";
    $("nav-sources").hidden = true;
    $("signin-error").textContent = message || ""; $("key").focus();
  }
  function signIn(key) {
    state.key = key;
    return api("/v1/console/me").then(function (me) {
      sessionStorage.setItem(KEY, key); state.scope = "staff:" + me.name;
      $("signin").hidden = true; $("app").hidden = false; $("signout").hidden = false;
      $("nav-sources").hidden = !me.admin;  // the sources view reads an admin API (console-sources.js)
      $("who").textContent = "Signed in as " + me.name + (me.admin ? " (admin)" : me.groups.length ? " (" + me.groups.join(", ") + ")" : "");
      $("q").focus(); refresh(); openLinked();
    });
  }
  // A handoff ticket links to /console#conversation=<id>: open that conversation once signed in.
  function openLinked() {
    var m = /^#conversation=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
    if (m && state.key) showConversation(m[1]);
  }
  window.addEventListener("hashchange", openLinked);
  $("signin-form").addEventListener("submit", function (e) {
    e.preventDefault(); $("signin-error").textContent = "";
    signIn($("key").value.trim()).catch(function (err) { if (err.message !== "unauthorized") $("signin-error").textContent = err.message; });
  });
  $("signout").addEventListener("click", function () { signOut("Signed out."); });

  // --- lists ---------------------------------------------------------------------------------
  function item(title, meta, cid) {
    return h("li", {}, [h("button", { type: "button", "class": "link", onclick: function () { showConversation(cid); } },
      [h("span", { "class": "t", text: title }), h("span", { "class": "m", text: meta })])]);
  }
  function fill(list, rows, empty) {
    list.textContent = "";
    if (!rows.length) list.appendChild(h("li", { "class": "empty", text: empty }));
    rows.forEach(function (r) { list.appendChild(r); });
  }
  function refresh() {
    api("/v1/console/conversations?limit=15").then(function (b) {
      fill($("convs"), b.conversations.map(function (c) {
        var flags = c.messages / 2 + " turn(s) · " + c.scope.split(":")[0] + (c.abstained ? " · " + c.abstained + " abstained" : "") +
          (c.negative_feedback ? " · " + c.negative_feedback + " not helpful" : "");
        return item(c.first_question || "(empty)", when(c.created_at) + " · " + flags, c.id);
      }), "No conversations yet.");
    });
    api("/v1/console/feedback?rating=-1&limit=15").then(function (b) {
      fill($("neg"), b.feedback.map(function (f) {
        return item(f.question || "(question missing)", "Not helpful" + (f.comment ? ": “" + f.comment + "”" : "") + " · " + when(f.created_at), f.conversation_id);
      }), "No negative feedback.");
    });
    api("/v1/console/abstentions?limit=15").then(function (b) {
      fill($("abst"), b.abstentions.map(function (a) {
        return item(a.question, a.count + "× · " + (a.reason || "") + " · last " + when(a.last_asked), a.conversation_id);
      }), "No abstentions yet.");
    });
    api("/v1/console/flags").then(function (b) {
      fill($("flags"), b.flagged.map(function (d) {
        var found = d.flags.map(function (f) { return f.pattern.replace(/_/g, " ") + " (line " + f.line + ")"; }).join(", ");
        return h("li", {}, [h("button", { type: "button", "class": "link", onclick: function () { openDoc(d.path, ""); } },
          [h("span", { "class": "t", text: d.title + " · " + d.path }), h("span", { "class": "m", text: d.visibility + " · " + found })])]);
      }), "No flagged docs.");
    }).catch(function () { fill($("flags"), [], "Flags unavailable."); });
    loadCache();
    loadEvals();
  }
  // --- answer cache: list, purge one, purge all ------------------------------------------------
  function loadCache() {
    api("/v1/console/cache?limit=50").then(function (b) {
      fill($("cache"), b.entries.map(function (e) {
        var meta = e.scope + " · " + e.hits + " hit(s) · " + when(e.created_at) + " · " + e.doc_paths.join(", ");
        return h("li", { "class": "cache-entry" }, [
          h("span", { "class": "t", text: e.question }), h("span", { "class": "m", text: meta }),
          h("button", { type: "button", "class": "ghost", "aria-label": "Purge this cached answer",
            onclick: function () { api("/v1/console/cache/" + encodeURIComponent(e.id), { method: "DELETE" }).then(loadCache, loadCache); } },
            ["Purge"])]);
      }), "No cached answers.");
    }).catch(function (err) { fill($("cache"), [], err.status === 404 ? "The answer cache is off." : "Cache unavailable."); });
  }
  $("cache-purge").addEventListener("click", function () {
    api("/v1/console/cache", { method: "DELETE" }).then(loadCache, loadCache);
  });

  function loadEvals() {
    var box = $("evals"); box.textContent = "Loading…";
    api("/v1/evals").then(function (b) {
      box.textContent = "";
      var latest = b.latest;
      if (!latest) { box.appendChild(h("p", { "class": "hint", text: b.running ? "A run is in progress." : "No evaluation run yet." })); return; }
      box.appendChild(h("p", {}, [h("strong", { text: "Latest: " + latest.id }), h("br"),
        h("span", { "class": "hint", text: when(latest.finished_at || latest.started_at) + " · " + latest.questions + " questions · " + latest.subset })]));
      var agg = latest.aggregates || {}, dl = h("dl", { "class": "agg" });
      Object.keys(agg).filter(function (k) { return typeof agg[k] === "number"; }).slice(0, 8).forEach(function (k) {
        dl.appendChild(h("dt", { text: k })); dl.appendChild(h("dd", { text: num(agg[k]) }));
      });
      box.appendChild(dl);
      box.appendChild(h("button", { type: "button", "class": "ghost", text: "Open latest report", onclick: openReport }));
    }).catch(function (err) {
      box.textContent = "";
      box.appendChild(h("p", { "class": "hint", text: err.status === 404 ? "No evaluation endpoint on this server yet (/v1/evals)."
        : "Evaluation unavailable: " + err.message }));
    });
  }
  function openReport() {
    // The report needs the key, which a frame or a link cannot send: fetch it here and show it in a
    // sandboxed frame. Unlike a window.open() pop-up (which gets a copy of this tab's sessionStorage),
    // the frame is an opaque origin: no key, no access to this page. Its sort script is
    // /static/eval-report.js, which this page's policy allows.
    api("/v1/evals/latest?format=html", { raw: true }).then(function (r) { return r.text(); }).then(function (html) {
      $("report-frame").srcdoc = html;
      $("report-view").showModal();
    }).catch(function (err) {
      if (err.message !== "unauthorized") $("evals").appendChild(h("p", { "class": "err", role: "alert", text: "No report: " + err.message }));
    });
  }
  $("report-close").addEventListener("click", function () { $("report-view").close(); });
  $("report-view").addEventListener("close", function () { $("report-frame").removeAttribute("srcdoc"); });

  // --- asking and explaining -----------------------------------------------------------------
  $("ask-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = $("q").value.trim(); if (!q) return;
    $("ask-btn").disabled = true; $("ask-status").textContent = "Asking…";
    api("/v1/chat", { method: "POST", body: { message: q, conversation_id: state.conv } }).then(function (ans) {
      $("q").value = ""; state.conv = ans.conversation_id; $("ask-status").textContent = "";
      return showConversation(ans.conversation_id).then(refresh);
    }).catch(function (err) { $("ask-status").textContent = "Failed: " + err.message; })
      .then(function () { $("ask-btn").disabled = false; });
  });
  $("q").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("ask-form").requestSubmit(); }
  });
  $("new-conv").addEventListener("click", function () {
    state.conv = null; $("detail").textContent = ""; $("ask-status").textContent = "New conversation."; $("q").focus();
  });

  function openDoc(path, url) {
    var anchor = (url || "").split("#")[1];
    api("/v1/console/docs/" + path.split("/").map(encodeURIComponent).join("/")).then(function (d) {
      $("doc-title").textContent = d.title + (d.visibility === "internal" ? " (internal)" : "");
      $("doc-body").innerHTML = d.html;  // rendered and escaped by the server's docs renderer
      $("doc-view").showModal();
      var target = anchor && $("doc-body").querySelector("[id='" + anchor.replace(/'/g, "") + "']");
      if (target) { target.scrollIntoView(); target.classList.add("hit"); }
    }).catch(function (err) { $("ask-status").textContent = "Cannot open " + path + ": " + err.message; });
  }
  $("doc-close").addEventListener("click", function () { $("doc-view").close(); });

  function docLink(text, path, url) {
    return path ? h("button", { type: "button", "class": "link inline", text: text, onclick: function () { openDoc(path, url); } })
      : h("span", { text: text });
  }
  function answerBlock(m) {
    var kids = [h("p", { "class": "answer", text: m.content })];
    var badges = h("p", { "class": "badges" }, [
      h("span", { "class": "badge " + (m.answerable ? "ok" : "warn"), text: m.answerable ? "answered" : "abstained" + (m.abstain_reason ? ": " + m.abstain_reason : "") }),
      h("span", { "class": "badge", text: "model " + (m.model || "none") + (m.answer_mode ? ", " + m.answer_mode : "") }),
      h("span", { "class": "badge", text: "latency " + num(m.latency_ms, 0) + " ms" })]);
    Object.keys(m.timings_ms || {}).forEach(function (k) { badges.appendChild(h("span", { "class": "badge light", text: k + " " + num(m.timings_ms[k], 0) + " ms" })); });
    kids.push(badges);
    kids.push(h("p", { "class": "rq" }, [h("strong", { text: "Rewritten query: " }), h("code", { text: m.rewritten_query || "" })]));
    if ((m.unsupported_sentences || []).length) {
      // What the model wrote but its sources do not support: withdrawn before the customer saw it.
      kids.push(h("h4", { text: "Withdrawn: not supported by the cited source" }));
      kids.push(h("ul", { "class": "withdrawn" }, m.unsupported_sentences.map(function (s) { return h("li", { text: s }); })));
    }
    if ((m.citations || []).length) {
      kids.push(h("h4", { text: "Citations" }));
      kids.push(h("ol", { "class": "cites" }, m.citations.map(function (c) {
        return h("li", {}, [docLink(c.title + ((c.heading_path || []).length > 1 ? " › " + c.heading_path.slice(1).join(" › ") : ""), c.doc_path, c.url),
          h("span", { "class": "hint", text: " " + c.url })]);
      })));
    }
    var table = h("table", { "class": "retrieved" }, [h("caption", { text: "Retrieved chunks (what the model was given)" }),
      h("thead", {}, [h("tr", {}, ["#", "Document › section", "Visibility", "Score", "Similarity", "Cited"].map(function (t) { return h("th", { scope: "col", text: t }); }))])]);
    var body = h("tbody");
    (m.retrieved || []).forEach(function (r) {
      var where = r.title ? r.title + ((r.heading_path || []).length > 1 ? " › " + r.heading_path.slice(1).join(" › ") : "") : r.doc_path + " (" + r.status + ")";
      body.appendChild(h("tr", { "class": r.cited_as ? "cited" : "" }, [h("td", { text: String(r.rank) }),
        h("td", {}, [docLink(where, r.status === "ok" ? r.doc_path : null, r.url), r.text ? h("div", { "class": "snip", text: r.text }) : null]),
        h("td", {}, [h("span", { "class": "badge " + (r.visibility === "internal" ? "int" : "light"), text: r.visibility || "?" })]),
        h("td", { "class": "n", text: num(r.score, 4) }), h("td", { "class": "n", text: num(r.similarity, 3) }),
        h("td", { text: r.cited_as ? "[" + r.cited_as + "]" : "" })]));
    });
    table.appendChild(body); kids.push(h("div", { "class": "scroll" }, [table]));
    (m.feedback || []).forEach(function (f) {
      kids.push(h("p", { "class": "fb", text: "Feedback: " + (f.rating > 0 ? "helpful" : "not helpful") + (f.comment ? " — “" + f.comment + "”" : "") }));
    });
    return h("div", { "class": "turn bot" }, kids);
  }
  function showConversation(cid) {
    return api("/v1/console/conversations/" + encodeURIComponent(cid)).then(function (c) {
      var d = $("detail"); d.textContent = "";
      d.appendChild(h("p", { "class": "hint", text: "Conversation " + c.id + " · " + c.scope + " · " + when(c.created_at) }));
      c.messages.forEach(function (m) {
        d.appendChild(m.role === "user" ? h("div", { "class": "turn user" }, [h("strong", { text: "Q: " }), m.content]) : answerBlock(m));
      });
      // Asking next continues this conversation only if it is this key's own.
      state.conv = c.scope === state.scope ? c.id : null;
      d.scrollIntoView({ block: "start", inline: "nearest" });
    }).catch(function (err) { $("ask-status").textContent = "Cannot open conversation: " + err.message; });
  }

  // The gap report (console-gaps.js, loaded after this file) builds its elements with the same helper.
  window.DocentConsole = { h: h, api: api };  // the gaps and sources views share these
  if (state.key) signIn(state.key).catch(function () {}); else $("key").focus();
})();
