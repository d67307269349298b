/* Docent chat widget. Embed with one tag, no build step:
 *   <script src="https://HOST/widget.js" data-docent-key="PUBLIC_SITE_ID" async></script>
 * Options (data attributes): data-title, data-greeting, data-color, data-position="left|right", data-open="true".
 * Theme (CSS custom properties on the page, e.g. :root): --docent-accent, --docent-accent-text, --docent-bg,
 * --docent-text, --docent-font, --docent-radius, --docent-z.
 * The page holds no secret: the public site id only lets an allowed origin mint a short-lived session token. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-docent-key]");
  if (!script || window.__docentWidget) return;
  window.__docentWidget = true;
  var ds = script.dataset, SITE = ds.docentKey || "", BASE = new URL(script.src, location.href).origin;
  var KEY = "docent:" + SITE + ":", uid = 0;

  function load(name) { try { return JSON.parse(sessionStorage.getItem(KEY + name) || "null"); } catch (e) { return null; } }
  function save(name, v) { try { sessionStorage.setItem(KEY + name, JSON.stringify(v)); } catch (e) { /* private mode */ } }

  // Only http(s), mailto and relative URLs become links (the rule of docent/urls.py, also in console.js):
  // judged after dropping the controls and spaces browsers ignore, so "java\tscript:" is refused too.
  function safeUrl(url) {
    var m = /^([a-z][a-z0-9+.\-]*):/i.exec(String(url).replace(/[\u0000-\u0020\u007f]/g, ""));
    return !m || /^(https?|mailto)$/i.test(m[1]);
  }
  // Elements are built with textContent only: answers, titles and snippets are never parsed as HTML.
  // A link whose URL has another scheme (a doc's front matter may say anything) renders as plain text.
  function h(tag, attrs, kids) {
    if (tag === "a" && attrs && !safeUrl(attrs.href)) {
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
    (kids || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }
  function icon(path) {  // constant SVG markup only
    var s = document.createElement("span");
    s.className = "ico"; s.setAttribute("aria-hidden", "true");
    s.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" ' +
      'stroke-linecap="round" stroke-linejoin="round">' + path + "</svg>";
    return s;
  }
  var I = {
    chat: '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/>',
    close: '<path d="M6 6l12 12M18 6L6 18"/>', send: '<path d="M5 12h13M13 6l6 6-6 6"/>',
    fresh: '<path d="M12 5v14M5 12h14"/>', up: '<path d="M7 11v9H4v-9zM7 11l4-8a2 2 0 0 1 3 2l-1 5h6a2 2 0 0 1 2 2l-2 7a2 2 0 0 1-2 1H7"/>',
    down: '<path d="M17 13V4h3v9zM17 13l-4 8a2 2 0 0 1-3-2l1-5H5a2 2 0 0 1-2-2l2-7a2 2 0 0 1 2-1h10"/>',
    ext: '<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>'
  };

  var CSS = [
    ":host{all:initial!important;display:block!important;position:static!important}",
    ".root{--a:var(--docent-accent,#2457d6);--at:var(--docent-accent-text,#fff);--bg:var(--docent-bg,#fff);",
    "--fg:var(--docent-text,#1d2330);--mut:#5b6475;--line:#e3e6ec;--soft:#f4f6f9;--r:var(--docent-radius,14px);",
    "font:14px/1.5 var(--docent-font,system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif);color:var(--fg);",
    "letter-spacing:normal;text-align:left;text-transform:none;font-style:normal;font-weight:400;-webkit-font-smoothing:antialiased}",
    "*,*::before,*::after{box-sizing:border-box}",
    "button,textarea{font:inherit;color:inherit;letter-spacing:inherit;margin:0}",
    "button{cursor:pointer}",
    ":focus-visible{outline:2px solid var(--a);outline-offset:2px}",
    ".sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:var(--docent-z,2147483000);width:56px;height:56px;",
    "border:0;border-radius:50%;background:var(--a);color:var(--at);box-shadow:0 6px 20px rgba(0,0,0,.22);",
    "display:flex;align-items:center;justify-content:center}",
    ".launcher .ico svg{width:26px;height:26px}",
    ".left .launcher{right:auto;left:20px}",
    ".panel{position:fixed;bottom:88px;right:20px;z-index:var(--docent-z,2147483000);width:384px;",
    "height:min(620px,calc(100vh - 108px));background:var(--bg);border-radius:var(--r);display:flex;flex-direction:column;",
    "box-shadow:0 12px 40px rgba(0,0,0,.22);border:1px solid var(--line);overflow:hidden}",
    ".left .panel{right:auto;left:20px}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;padding:12px 12px 12px 16px;background:var(--a);color:var(--at)}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;line-height:1.3;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".hb{background:transparent;border:0;color:inherit;border-radius:8px;padding:6px;display:flex;align-items:center;gap:4px;font-size:13px}",
    ".hb:hover{background:rgba(255,255,255,.18)}",
    ".log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:12px;background:var(--soft)}",
    ".msg{max-width:92%;padding:10px 12px;border-radius:12px;overflow-wrap:anywhere}",
    ".user{align-self:flex-end;background:var(--a);color:var(--at);white-space:pre-wrap;border-bottom-right-radius:4px}",
    ".bot{align-self:flex-start;background:var(--bg);border:1px solid var(--line);border-bottom-left-radius:4px}",
    ".body p{margin:0 0 8px}.body p:last-child{margin-bottom:0}.body ul,.body ol{margin:0 0 8px;padding-left:20px}",
    ".stream{white-space:pre-wrap}",
    "code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);padding:1px 4px;border-radius:4px}",
    "pre{background:var(--soft);padding:8px;border-radius:8px;overflow-x:auto;margin:0 0 8px}pre code{padding:0;background:none}",
    ".cite{border:0;background:var(--a);color:var(--at);font-size:11px;font-weight:600;line-height:1;border-radius:9px;",
    "min-width:18px;height:18px;padding:0 5px;margin:0 1px;vertical-align:2px}",
    ".cite[aria-expanded=true]{box-shadow:0 0 0 2px var(--bg),0 0 0 4px var(--a)}",
    ".card{margin-top:10px;border:1px solid var(--line);border-left:3px solid var(--a);border-radius:8px;padding:8px 10px;background:var(--soft)}",
    ".card strong{display:block;font-size:13px}.card .path{color:var(--mut);font-size:12px}",
    ".card p{margin:6px 0;font-size:13px;color:var(--fg)}",
    "a{color:var(--a)}",
    ".open{display:inline-flex;align-items:center;gap:4px;font-size:13px;font-weight:600;text-decoration:none}",
    ".open .ico svg{width:14px;height:14px}",
    ".looking{margin-top:10px;padding-top:8px;border-top:1px solid var(--line)}.looking .lh{margin:0 0 4px;font-size:12px;color:var(--mut)}",
    ".looking ul,.looking ol{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:4px}",
    ".src a,.src>span{display:block;padding:5px 8px;border:1px solid var(--line);border-radius:8px;background:var(--soft);",
    "text-decoration:none;color:var(--fg);font-size:12.5px;line-height:1.35;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".src a:hover{border-color:var(--a)}.src .path{color:var(--mut)}",
    ".src.cited a,.src.cited>span{border-left:3px solid var(--a);background:var(--bg)}",
    ".src .n{display:inline-block;min-width:16px;margin-right:6px;border-radius:8px;background:var(--a);color:var(--at);",
    "font-size:10.5px;font-weight:600;text-align:center}",
    ".looking details{margin-top:6px;font-size:12px;color:var(--mut)}.looking summary{cursor:pointer}",
    ".looking details ul{margin-top:4px;opacity:.7}",
    ".handoff{margin-top:10px;padding:10px;border-radius:8px;background:#fff7e6;border:1px solid #f3d9a4}",
    ".handoff strong{display:block;margin-bottom:6px}",
    ".btn{display:inline-block;background:var(--a);color:var(--at);border:0;border-radius:8px;padding:7px 12px;",
    "font-weight:600;font-size:13px;text-decoration:none}",
    ".btn[disabled]{opacity:.55;cursor:default}",
    ".fb{display:flex;align-items:center;gap:4px;margin-top:8px;color:var(--mut);font-size:12px}",
    ".fb .q{margin-right:4px}",
    ".thumb{border:1px solid var(--line);background:var(--bg);border-radius:8px;padding:3px 6px;display:flex;color:var(--mut)}",
    ".thumb .ico svg{width:16px;height:16px}",
    ".thumb[aria-pressed=true]{background:var(--a);color:var(--at);border-color:var(--a)}",
    ".fbform{margin-top:8px;display:flex;flex-direction:column;gap:6px}",
    ".fbform label{font-size:12px;color:var(--mut)}",
    "textarea{width:100%;border:1px solid var(--line);border-radius:8px;padding:8px 10px;background:var(--bg);resize:none}",
    ".fbform .btn{align-self:flex-end}",
    ".note{font-size:12px;color:var(--mut);margin-top:6px}",
    ".error{align-self:stretch;background:#fdecec;border:1px solid #f3b7b7;color:#7a1212;border-radius:10px;padding:10px 12px}",
    ".error p{margin:0 0 8px}",
    ".error .btn{background:#b42318}.error .row{display:flex;align-items:center;gap:12px}.error a{color:#7a1212}",
    ".typing{display:inline-flex;gap:4px;padding:4px 0}",
    ".typing i{width:7px;height:7px;border-radius:50%;background:var(--mut);animation:b 1.2s infinite ease-in-out}",
    ".typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}",
    "@keyframes b{0%,80%,100%{opacity:.25;transform:translateY(0)}40%{opacity:1;transform:translateY(-3px)}}",
    "@media (prefers-reduced-motion:reduce){.typing i{animation:none}}",
    "form.composer{display:flex;gap:8px;padding:10px;border-top:1px solid var(--line);background:var(--bg)}",
    "form.composer textarea{max-height:120px;min-height:40px}",
    ".send{flex:none;width:40px;height:40px;border:0;border-radius:10px;background:var(--a);color:var(--at);display:flex;align-items:center;justify-content:center}",
    ".send[disabled]{opacity:.5;cursor:default}",
    ".foot{padding:0 12px 8px;font-size:11px;color:var(--mut);background:var(--bg);text-align:center}",
    "@media (max-width:480px){.panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0;border:0}",
    ".open-now .launcher{display:none}}"
  ].join("\n");

  var host = h("docent-widget", { "data-site": SITE });
  var shadow = host.attachShadow({ mode: "open" });
  // A constructed sheet is not blocked by a host page's strict style-src CSP; <style> is the fallback.
  try { var sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); shadow.adoptedStyleSheets = [sheet]; }
  catch (e) { shadow.appendChild(h("style", { text: CSS })); }
  if (ds.color) host.style.setProperty("--docent-accent", ds.color);

  var pid = "docent-panel", tid = "docent-title";
  var titleEl = h("h2", { id: tid, text: ds.title || "Ask the docs" });
  var launcher = h("button", { "class": "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false",
    "aria-controls": pid, "aria-label": "Open chat: " + titleEl.textContent, onclick: function () { toggle(); } }, [icon(I.chat)]);
  var log = h("div", { "class": "log", role: "log", "aria-live": "off", "aria-label": "Conversation", tabindex: "0" });
  var live = h("div", { "class": "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  var input = h("textarea", { id: "docent-q", rows: "1", maxlength: "4000", placeholder: "Ask a question…",
    onkeydown: function (e) { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); } },
    oninput: function () { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; } });
  var sendBtn = h("button", { "class": "send", type: "submit", "aria-label": "Send question" }, [icon(I.send)]);
  var panel = h("div", { "class": "panel", id: pid, role: "dialog", "aria-modal": "false", "aria-labelledby": tid, hidden: "",
    onkeydown: function (e) { if (e.key === "Escape") { e.stopPropagation(); toggle(false); } } }, [
    h("header", {}, [titleEl,
      h("button", { "class": "hb", type: "button", "aria-label": "New conversation", title: "New conversation",
        onclick: function () { reset(); } }, [icon(I.fresh), h("span", { text: "New" })]),
      h("button", { "class": "hb", type: "button", "aria-label": "Close chat", title: "Close",
        onclick: function () { toggle(false); } }, [icon(I.close)])]),
    log, live,
    h("form", { "class": "composer", onsubmit: function (e) { e.preventDefault(); submit(); } }, [
      h("label", { "class": "sr", "for": "docent-q", text: "Your question" }), input, sendBtn]),
    h("div", { "class": "foot", text: "Answers come from the documentation and cite their sources." })]);
  var root = h("div", { "class": "root" + (ds.position === "left" ? " left" : "") }, [launcher, panel]);
  shadow.appendChild(root);

  var state = { token: load("token"), conv: load("conv") || { id: null, turns: [] }, busy: null, greeting: ds.greeting,
    support: null, site: null };

  function announce(text) { live.textContent = ""; setTimeout(function () { live.textContent = text; }, 30); }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function persist() { state.conv.turns = state.conv.turns.slice(-30); save("conv", state.conv); }

  function toggle(open, quiet) {
    open = open === undefined ? panel.hidden : open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    root.classList.toggle("open-now", open);
    save("open", open);
    // Reopened by a page load (quiet), the panel must not steal focus from the page.
    if (open) { if (!log.childNodes.length) restore(); if (!quiet) input.focus(); scroll(); ensureSession().catch(function () {}); }
    else if (!quiet) launcher.focus();
  }

  // --- API --------------------------------------------------------------------------------
  function ApiError(status, detail, retryAfter) { this.status = status; this.detail = detail; this.retryAfter = retryAfter; }
  function failed(resp) {
    return resp.json().catch(function () { return {}; }).then(function (b) {
      throw new ApiError(resp.status, b.detail || resp.statusText, parseInt(resp.headers.get("Retry-After") || "0", 10));
    });
  }
  function ensureSession(force) {
    var t = state.token;
    if (!force && t && t.expires_at * 1000 - Date.now() > 30000) return Promise.resolve(t.token);
    return fetch(BASE + "/v1/widget/session", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ site_id: SITE, previous_token: t ? t.token : null }) })
      .then(function (r) { return r.ok ? r.json() : failed(r); }, function (err) {
        // A refused CORS preflight looks exactly like a network error to scripts; tell the site owner what to check.
        if (window.console) console.warn("Docent: no session for site '" + SITE + "' from " + location.origin +
          ". If the network is fine, add this origin to the site's allowed_origins.");
        throw err;
      })
      .then(function (b) {
        state.token = { token: b.token, expires_at: b.expires_at }; save("token", state.token);
        state.support = b.support; state.site = b.site;
        if (!ds.title && b.site.title) { titleEl.textContent = b.site.title; launcher.setAttribute("aria-label", "Open chat: " + b.site.title); }
        if (!ds.greeting && b.site.greeting && b.site.greeting !== state.greeting) {
          state.greeting = b.site.greeting; var g = log.querySelector(".greet .body"); if (g) g.textContent = b.site.greeting;
        }
        return b.token;
      });
  }
  // Calls with the session token; an expired token is renewed once, transparently.
  function authed(path, payload, signal, retried) {
    return ensureSession(retried).then(function (token) {
      return fetch(BASE + path, { method: "POST", signal: signal, body: JSON.stringify(payload),
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token } });
    }).then(function (r) {
      if (r.status === 401 && !retried) return authed(path, payload, signal, true);
      return r.ok ? r : failed(r);
    });
  }
  function readSSE(resp, on) {
    var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (chunk) {
        buf += dec.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
        var blocks = buf.split(/\r?\n\r?\n/); buf = chunk.done ? "" : blocks.pop();
        blocks.forEach(function (block) {
          var ev = "message", data = "";
          block.split(/\r?\n/).forEach(function (line) {
            if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          if (data) on(ev, JSON.parse(data));
        });
        return chunk.done ? null : pump();
      });
    }
    return pump();
  }
  function explain(err) {
    if (err instanceof ApiError) {
      if (err.status === 429) return "You're asking faster than we can answer. Please wait " + (err.retryAfter || 10) + " seconds, then retry.";
      if (err.status === 403) return "This website isn't allowed to use this assistant (" + err.detail + ")";
      if (err.status >= 500) return "The assistant ran into a problem on our side (error " + err.status + "). Please try again.";
      if (err.status === 0) return "The answer was interrupted before it finished. Please try again.";
      return err.detail || "The request was refused (error " + err.status + ").";
    }
    return "Can't reach the assistant. Check your connection and try again.";
  }

  // --- handoff to a person (POST /v1/handoff) ----------------------------------------------------
  // Offered under an abstention, or when the customer asks for a person, if the server has a helpdesk
  // target (GET /v1/handoff); without one, the support link above stays the way to a person.
  var PERSON = /\b(talk|speak|chat|connect|contact|get)\b[^.?!\n]{0,40}\b(human|person|agent|someone|somebody|representative|support)\b/i;
  var handoffOn = null;
  function handoffEnabled() {
    if (!handoffOn) handoffOn = fetch(BASE + "/v1/handoff").then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (b) { return !!b.enabled; }, function () { handoffOn = null; return false; });
    return handoffOn;
  }
  function offerHandoff(art) {
    handoffEnabled().then(function (on) {
      if (!on || art.querySelector(".person")) return;
      var n = ++uid, status = h("p", { "class": "note", role: "status", "aria-label": "Handoff status" });
      var email = h("input", { id: "docent-ho-e" + n, type: "email", required: "", maxlength: "254", autocomplete: "email" });
      var note = h("textarea", { id: "docent-ho-m" + n, rows: "2", maxlength: "2000" });
      var send = h("button", { "class": "btn", type: "submit", text: "Send to support" });
      function show(el, on) { el.style.display = on ? "" : "none"; }  // .fbform and .btn set display: [hidden] loses
      var form = h("form", { "class": "fbform", novalidate: "", onsubmit: function (e) {
        e.preventDefault();
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.value.trim())) { status.textContent = "Please enter a valid email address."; email.focus(); return; }
        send.disabled = true; status.textContent = "Sending…";
        var page = /^https?:$/.test(location.protocol) ? location.origin + location.pathname : null;
        authed("/v1/handoff", { conversation_id: state.conv.id, email: email.value.trim(), message: note.value.trim() || null,
          page_url: page }).then(function (r) { return r.json(); }).then(function (b) {
          status.textContent = b.detail; show(form, false); announce(b.detail);
        }, function (err) { send.disabled = false; status.textContent = "Couldn't send this to support: " + explain(err); });
      } }, [h("label", { "for": email.id, text: "Your email" }), email,
        h("label", { "for": note.id, text: "Message (optional)" }), note, send]);
      var open = h("button", { "class": "btn", type: "button", text: "Talk to a person", onclick: function () {
        show(form, true); show(open, false); email.focus();
      } });
      show(form, false);
      art.appendChild(h("div", { "class": "handoff person" }, [h("strong", { text: "Want a person to take over?" }),
        h("p", { "class": "note", text: "Our support team gets this conversation and replies by email." }), open, form, status]));
      scroll();
    });
  }

  // --- rendering ----------------------------------------------------------------------------
  function inline(el, text, cites, onCite) {
    var re = /(`[^`]+`)|\*\*([^*]+)\*\*|\[(\d+(?:\s*,\s*\d+)*)\]/g, pos = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > pos) el.appendChild(document.createTextNode(text.slice(pos, m.index)));
      if (m[1]) el.appendChild(h("code", { text: m[1].slice(1, -1) }));
      else if (m[2]) el.appendChild(h("strong", { text: m[2] }));
      else m[3].split(",").forEach(function (n) {
        var c = cites[parseInt(n, 10) - 1];
        el.appendChild(c ? onCite(c) : document.createTextNode("[" + n.trim() + "]"));
      });
      pos = re.lastIndex;
    }
    if (pos < text.length) el.appendChild(document.createTextNode(text.slice(pos)));
  }
  function formatAnswer(body, text, cites, onCite) {
    body.textContent = ""; body.classList.remove("stream");
    text.split(/(```[\s\S]*?```)/).forEach(function (part) {
      if (part.indexOf("```") === 0) {
        body.appendChild(h("pre", {}, [h("code", { text: part.replace(/^```[^\n]*\n?/, "").replace(/```$/, "") })])); return;
      }
      var list = null;
      part.split("\n").forEach(function (line) {
        var item = /^\s*(?:[-*]|\d+[.)])\s+(.*)$/.exec(line);
        if (!line.trim()) { list = null; return; }
        if (item) {
          if (!list) { list = h(/^\s*\d/.test(line) ? "ol" : "ul"); body.appendChild(list); }
          var li = h("li"); inline(li, item[1], cites, onCite); list.appendChild(li); return;
        }
        list = null; var p = h("p"); inline(p, line, cites, onCite); body.appendChild(p);
      });
    });
  }
  function pathOf(c) { return (c.heading_path || []).slice(1).join(" › "); }

  // --- sources: "Looking in" cards while the answer is pending, then the cited ones marked ------
  // A source card links to the page at its section; cited or not is decided when "final" arrives.
  function srcCard(s) {
    var where = s.section !== undefined ? String(s.section).replace(/ > /g, " › ") : pathOf(s);
    var li = h("li", { "class": "src" }, [h("a", { href: s.url, target: "_blank", rel: "noopener", title: s.title +
      (where ? " — " + where : "") }, [h("strong", { text: s.title }), where ? h("span", { "class": "path", text: " — " + where }) : null])]);
    li.dataset.chunk = s.chunk_id || ""; li.dataset.url = s.url || "";
    return li;
  }
  function showSources(b, sources, quiet) {
    if (b.looking || !sources.length) return;
    var list = h("ul", { "aria-label": "Looking in" }, sources.map(srcCard));
    b.looking = h("div", { "class": "looking" }, [h("p", { "class": "lh", "aria-hidden": "true", text: "Looking in:" }), list]);
    b.art.appendChild(b.looking); scroll();
    if (!quiet) announce("Looking in " + sources.map(function (s) { return s.title; }).join(", ") + ".");
  }
  // The cited sources become the "Sources" list, numbered like the answer's markers; the others fold away.
  function markSources(b, a) {
    var cites = a.citations || [];
    if (!b.looking) showSources(b, a.sources || [], true);  // a turn restored after a reload
    var cards = b.looking ? [].slice.call(b.looking.querySelectorAll("li.src")) : [], used = [];
    function find(key, value) { return cards.filter(function (x) { return used.indexOf(x) < 0 && x.dataset[key] === value; })[0]; }
    var cited = cites.map(function (c) {
      var li = find("chunk", c.chunk_id) || find("url", c.url) || srcCard(c);
      used.push(li); li.classList.add("cited");
      var where = li.querySelector("a,span"); where.insertBefore(h("span", { "class": "n", "aria-hidden": "true", text: String(c.marker) }), where.firstChild);
      return li;
    });
    var rest = cards.filter(function (x) { return used.indexOf(x) < 0; });
    if (!cited.length && !rest.length) { if (b.looking) b.looking.remove(); b.looking = null; return; }
    var box = h("div", { "class": "looking done" });
    if (cited.length) box.appendChild(h("ol", { "class": "sources-list", "aria-label": "Sources" }, cited));
    if (rest.length) {
      box.appendChild(h("details", {}, [h("summary", { text: (cited.length ? "Also looked in " : "Looked in ") + rest.length +
        (rest.length === 1 ? " page" : " pages") }), h("ul", { "aria-label": "Also looked in" }, rest)]));
    }
    if (b.looking) b.looking.remove();
    b.looking = box; b.art.appendChild(box);
  }

  function botBubble() {
    var art = h("article", { "class": "msg bot", "aria-label": "Answer", "aria-busy": "true" });
    var body = h("div", { "class": "body stream" });
    var typing = h("span", { "class": "typing", "aria-hidden": "true" }, [h("i"), h("i"), h("i")]);
    art.appendChild(body); body.appendChild(typing); log.appendChild(art); scroll();
    return { art: art, body: body, typing: typing, deltas: 0 };
  }

  function finishAnswer(b, turn) {
    var a = turn.a, cites = a.citations || [], card = null, openBtn = null;
    b.art.setAttribute("aria-busy", "false");
    b.art.dataset.deltas = String(b.deltas);
    function showCard(c, btn) {
      var same = openBtn === btn;
      if (card) { card.remove(); card = null; }
      if (openBtn) openBtn.setAttribute("aria-expanded", "false");
      openBtn = null;
      if (same) return;
      var id = "docent-src-" + (++uid);
      var snip = h("p"), raw = c.snippet.replace(/^#+\s.*$/gm, "").replace(/\s+/g, " ").trim();
      inline(snip, raw.length > 240 ? raw.slice(0, 240).replace(/\s+\S*$/, "") + " …" : raw, [], null);
      card = h("div", { "class": "card", id: id, role: "region", "aria-label": "Source " + c.marker + ": " + c.title }, [
        h("strong", { text: c.title }), pathOf(c) ? h("span", { "class": "path", text: pathOf(c) }) : null, snip,
        h("a", { "class": "open", href: c.url, target: "_blank", rel: "noopener" }, ["Open page", icon(I.ext)])]);
      btn.setAttribute("aria-expanded", "true"); btn.setAttribute("aria-controls", id); openBtn = btn;
      b.body.after(card);
      if (card.scrollIntoView) card.scrollIntoView({ block: "nearest" });
    }
    formatAnswer(b.body, a.answer, cites, function (c) {
      var btn = h("button", { "class": "cite", type: "button", "aria-expanded": "false", text: String(c.marker),
        "aria-label": "Source " + c.marker + ": " + c.title, title: c.title });
      btn.addEventListener("click", function () { showCard(c, btn); });
      return btn;
    });
    if (!a.answerable && a.handoff) {
      b.art.appendChild(h("div", { "class": "handoff" }, [h("strong", { text: "Not in the documentation" }),
        h("a", { "class": "btn", href: a.handoff.url, target: "_blank", rel: "noopener" }, [a.handoff.label])]));
    }
    if ((!a.answerable || PERSON.test(turn.q)) && turn === state.conv.turns[state.conv.turns.length - 1]) offerHandoff(b.art);
    markSources(b, a);
    b.art.appendChild(feedbackBar(turn));
    scroll();
  }

  function feedbackBar(turn) {
    var wrap = h("div"), done = h("p", { "class": "note", role: "status" }), form = null;
    function thumb(rating, label, ic) {
      return h("button", { "class": "thumb", type: "button", "aria-label": label, title: label,
        "aria-pressed": String(turn.fb === rating), onclick: function () { choose(rating); } }, [icon(ic)]);
    }
    var up = thumb(1, "Helpful", I.up), down = thumb(-1, "Not helpful", I.down);
    function choose(rating) {
      if (turn.fbSent) return;
      turn.fb = rating; up.setAttribute("aria-pressed", String(rating === 1)); down.setAttribute("aria-pressed", String(rating === -1));
      if (form) form.remove();
      var fid = "docent-fb-" + (++uid), box = h("textarea", { id: fid, rows: "2", maxlength: "2000",
        placeholder: rating < 0 ? "What was wrong or missing?" : "Anything to add?" });
      var btn = h("button", { "class": "btn", type: "submit", text: "Send feedback" });
      form = h("form", { "class": "fbform", onsubmit: function (e) {
        e.preventDefault(); btn.disabled = true; done.textContent = "Sending…";
        authed("/v1/feedback", { conversation_id: state.conv.id, message_id: turn.a.message_id, rating: rating,
          comment: box.value.trim() || null }).then(function () {
          turn.fbSent = true; persist(); form.remove(); up.disabled = down.disabled = true;
          done.textContent = "Thanks for the feedback!";
        }, function (err) { btn.disabled = false; done.textContent = "Couldn't send feedback: " + explain(err); });
      } }, [h("label", { "for": fid, text: "Comment (optional)" }), box, btn]);
      wrap.insertBefore(form, done); box.focus();
    }
    wrap.appendChild(h("div", { "class": "fb" }, [h("span", { "class": "q", text: "Was this helpful?" }), up, down]));
    wrap.appendChild(done);
    if (turn.fbSent) { up.disabled = down.disabled = true; done.textContent = "Thanks for the feedback!"; }
    return wrap;
  }

  function userBubble(q) { log.appendChild(h("div", { "class": "msg user" }, [h("span", { "class": "sr", text: "You: " }), q])); }
  function greet() {
    log.appendChild(h("div", { "class": "msg bot greet" }, [h("div", { "class": "body", text: state.greeting || "Hi! Ask me anything about the documentation." })]));
  }
  function restore() {
    log.textContent = ""; greet();
    state.conv.turns.forEach(function (t) { if (!t.a) return; userBubble(t.q); finishAnswer(botBubble(), t); });
  }
  function reset() {
    if (state.busy) state.busy.abort();
    state.conv = { id: null, turns: [] }; persist(); restore(); announce("Started a new conversation."); input.focus();
  }

  // --- asking -------------------------------------------------------------------------------
  function setBusy(ctrl) { state.busy = ctrl; sendBtn.disabled = !!ctrl; }
  function submit() {
    var q = input.value.trim();
    if (!q || state.busy) return;
    input.value = ""; input.style.height = "";
    userBubble(q); ask(q, false);
  }
  function ask(q, again) {
    var b = botBubble(), ctrl = new AbortController(), text = "", final = null;
    setBusy(ctrl); announce("The assistant is typing.");
    authed("/v1/chat", { message: q, conversation_id: state.conv.id, stream: true }, ctrl.signal).then(function (resp) {
      return readSSE(resp, function (ev, data) {
        // The conversation exists once its first answer is stored: its id is taken from "final".
        if (ev === "sources") showSources(b, data.sources || []);
        else if (ev === "delta") {
          if (b.typing.parentNode) b.typing.remove();
          text += data.text; b.deltas++; b.body.textContent = text; scroll();
        } else if (ev === "final") final = data;
        else if (ev === "error") throw new ApiError(data.status || 500, data.detail);
      });
    }).then(function () {
      if (!final) throw new ApiError(0, "cut");
      var turn = { q: q, a: final }; state.conv.id = final.conversation_id; state.conv.turns.push(turn); persist();
      finishAnswer(b, turn); setBusy(null);
      announce("Answer: " + b.body.textContent + (final.answerable ? "" : " Not in the documentation."));
    }).catch(function (err) {
      setBusy(null); b.art.remove();
      if (ctrl.signal.aborted) return;
      // A conversation this session may no longer continue: start a new one once, silently.
      if (err instanceof ApiError && err.status === 404 && state.conv.id && !again) { state.conv.id = null; return ask(q, true); }
      showError(err, q);
    });
  }
  function showError(err, q) {
    var msg = explain(err), wait = err instanceof ApiError && err.status === 429 ? (err.retryAfter || 10) : 0;
    var retry = h("button", { "class": "btn", type: "button", text: "Retry" });
    // Retrying cannot help a site that is not allowed; everything else may be transient.
    var forbidden = err instanceof ApiError && err.status === 403;
    var box = h("div", { "class": "error", role: "alert" }, [h("p", { text: msg }), h("div", { "class": "row" }, [forbidden ? null : retry,
      state.support ? h("a", { href: state.support.url, target: "_blank", rel: "noopener", text: state.support.label }) : null])]);
    retry.addEventListener("click", function () { box.remove(); ask(q, false); input.focus(); });
    if (wait) {
      retry.disabled = true;
      var left = wait, tick = setInterval(function () {
        left--; retry.textContent = left > 0 ? "Retry in " + left + " s" : "Retry";
        if (left <= 0) { clearInterval(tick); retry.disabled = false; }
      }, 1000);
      retry.textContent = "Retry in " + left + " s";
    }
    log.appendChild(box); scroll();
  }

  function mount() {
    (document.body || document.documentElement).appendChild(host);
    var open = load("open");
    if (open || (open === null && ds.open === "true")) toggle(true, true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
