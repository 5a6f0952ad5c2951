/**
 * The approval console: one HTML page with its CSS and script inline, no external assets and no
 * framework, served with a Content-Security-Policy that runs only the script and style carrying
 * the response's nonce (approval-console.ts).
 *
 * What it does: an approver signs in once with their token (exchanged for a session cookie and
 * a CSRF token kept in memory, approval-sign-in.ts), sees the pending requests it may answer
 * (the action as it would run, redacted as the policy redacts it; the rules and reasons; the
 * requester's session and user; the time left, counting down; quorum, votes and a grant when
 * the request has them) and approves or rejects each with a note. It follows the queue live
 * through server-sent events (approval-events.ts). Every text that comes from a request is
 * inserted with `append`/`textContent`, never parsed as HTML. Paths are relative, so the page
 * works behind a proxy that serves it under a prefix.
 *
 * Keyboard: Tab follows the reading order (sign-in, then per request: note, grant, Approve,
 * Reject); Enter or Space activates a button; Enter in the token field signs in; Escape in a
 * request clears its note and returns focus to its heading. Focus is always visible, and after
 * a request leaves, focus moves to the next one.
 */

const NONCE = "__ARMOR_NONCE__";

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #57606a; --line: #d0d7de; --focus: #0b57d0; --ok: #116329; --bad: #a40e26; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --card: #161b22; --muted: #9da7b3; --line: #30363d; --focus: #79b8ff; --ok: #3fb950; --bad: #ff7b72; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .75rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.2rem; margin: 0; flex: 1 1 auto; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h2 { font-size: 1.1rem; margin: .5rem 0; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; overflow-wrap: anywhere; }
form, article { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
input[type=password], input[type=text] { width: 100%; font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button { font: inherit; min-height: 44px; padding: .4rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
button.reject { background: var(--bad); border-color: var(--bad); color: #fff; }
button:disabled { opacity: .55; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
ol.list { list-style: none; margin: 0; padding: 0; display: grid; gap: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .75rem; margin: 0 0 .75rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
pre { margin: .25rem 0 .75rem; padding: .5rem; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20rem; overflow: auto; font-size: .9rem; }
.rules { margin: .25rem 0 .75rem; padding-left: 1.25rem; }
.rules code, dd code { overflow-wrap: anywhere; }
.left { font-variant-numeric: tabular-nums; font-weight: 600; }
.left.low { color: var(--bad); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
.actions button { flex: 1 1 8rem; }
.grant { display: flex; gap: .5rem; align-items: center; font-weight: normal; }
.err { color: var(--bad); margin: .5rem 0 0; }
.err:empty, #status:empty, #error:empty { display: none; }
#status { color: var(--muted); }
.muted { color: var(--muted); }
@media (max-width: 30rem) { main { padding: .5rem; } dl { grid-template-columns: 1fr; } dt { margin-top: .25rem; } form, article { padding: .75rem; } }
`;

// written without template literals, so that this file can hold it in one
const SCRIPT = `
"use strict";
(function () {
  var byId = function (id) { return document.getElementById(id); };
  var csrf = null, source = null, skew = 0, session = null;
  var cards = new Map();

  // text helpers (no DOM): begin
  /**
   * Text as it is shown: control characters, zero-width and bidi override characters (which
   * could make "\\u202Eemca" read as "acme") escaped visibly as \\\\uXXXX; line feeds kept.
   */
  function safe(text) {
    return String(text).replace(/[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ufeff]/g, function (c) {
      return "\\\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
    });
  }
  function own(o, k) { return o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined; }
  /** 90000000 → "1d 1h" */
  function durationText(ms) {
    if (typeof ms !== "number" || !isFinite(ms) || ms < 0) return null;
    var out = [], rest = Math.round(ms);
    [["d", 86400000], ["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]].forEach(function (u) {
      var n = Math.floor(rest / u[1]);
      if (n > 0) { out.push(n + u[0]); rest -= n * u[1]; }
    });
    return out.length ? out.join(" ") : "0s";
  }
  /** The quorum line (for a quorum above 1): the approvals so far (the request's \`approvers\`) of the quorum. */
  function quorumText(p) {
    var quorum = own(p, "quorum");
    if (typeof quorum !== "number" || !(quorum > 1)) return null;
    var votes = Array.isArray(own(p, "approvers")) ? p.approvers.map(String) : [];
    return votes.length + " of " + quorum + " approvals" + (votes.length ? ": " + votes.join(", ") : "");
  }
  /** What "Also grant" grants: the scope, for how long, and up to how much of which field. */
  function grantText(g) {
    var d = durationText(own(g, "durationMs"));
    var upTo = own(g, "upTo");
    var of = own(g, "of");
    return [
      own(g, "scope") === undefined ? null : String(g.scope),
      d ? "for " + d : null,
      upTo !== undefined && upTo !== null ? "up to " + upTo + (typeof of === "string" ? " of " + of : "") : null,
    ].filter(Boolean).join(" ");
  }
  // text helpers (no DOM): end

  /** An element with a class and children; strings become text nodes, never markup, escaped by \`safe\`. */
  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var i = 2; i < arguments.length; i++) if (arguments[i] !== null && arguments[i] !== undefined) e.append(typeof arguments[i] === "string" ? safe(arguments[i]) : arguments[i]);
    return e;
  }
  function say(text) { byId("status").textContent = safe(text); }
  function fail(text) { byId("error").textContent = safe(text); }
  function json(value) { try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); } }
  function errorText(body, status) { return body && body.error && typeof body.error.message === "string" ? body.error.message : "the request failed (HTTP " + status + ")"; }
  function headers() { var h = { "content-type": "application/json" }; if (csrf) h["x-csrf-token"] = csrf; return h; }
  function send(method, path, body) {
    return fetch(path, { method: method, headers: headers(), credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) { return r.json().catch(function () { return null; }).then(function (b) { return { status: r.status, body: b }; }); });
  }

  function userText(user) {
    if (!user || typeof user !== "object") return "(none)";
    var id = Object.prototype.hasOwnProperty.call(user, "id") ? user.id : Object.prototype.hasOwnProperty.call(user, "name") ? user.name : undefined;
    return (typeof id === "string" || typeof id === "number" ? String(id) + "  " : "") + JSON.stringify(user);
  }
  function clock(ms) {
    if (ms <= 0) return "timed out";
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h > 0 ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
  }

  function row(dl, term, value) { if (value === null || value === undefined) return; dl.append(el("dt", null, term), el("dd", null, value)); }

  function card(p) {
    var action = own(p, "action");
    var type = typeof own(action, "type") === "string" ? action.type : "(no type)";
    var stage = own(p, "stage");
    var title = el("h3", null, stage === "result" ? "Result of " + type : stage === "output" ? "Model message" : type);
    title.tabIndex = -1;
    title.id = "req-" + cards.size + "-" + Math.random().toString(36).slice(2);
    var article = el("article", null, title);
    article.setAttribute("aria-labelledby", title.id);
    var left = el("span", "left", "");
    var dl = el("dl");
    row(dl, "Time left", left);
    var policy = own(p, "policy");
    row(dl, "Policy", own(policy, "name") === undefined ? null : String(policy.name) + (policy.version ? " " + policy.version : ""));
    row(dl, "Session", String(own(p, "session")));
    row(dl, "User", userText(own(p, "user")));
    row(dl, "Asked of", own(p, "from") === null || own(p, "from") === undefined ? "any approver" : String(p.from));
    var rules = own(p, "rules");
    var ruleReasons = Array.isArray(rules) ? rules.map(function (r) { return own(r, "reason"); }) : [];
    if (typeof own(p, "reason") === "string" && ruleReasons.indexOf(p.reason) < 0) row(dl, "Reason", p.reason);
    row(dl, "Quorum", quorumText(p));
    row(dl, "Request", String(own(p, "id")));
    var hash = stage !== undefined ? own(p, "valueHash") : own(p, "actionHash");
    row(dl, "Hash", typeof hash === "string" ? hash.slice(0, 16) : null);
    article.append(dl);
    if (Array.isArray(rules) && rules.length > 0) {
      var ul = el("ul", "rules");
      rules.forEach(function (r) { ul.append(el("li", null, el("code", null, String(own(r, "id"))), own(r, "reason") ? " — " + String(r.reason) : "")); });
      article.append(el("div", "muted", "Rules"), ul);
    }
    if (stage !== "output") article.append(el("div", "muted", stage === "result" ? "The call" : "The action, as it would run"), el("pre", null, json(action)));
    if (stage !== undefined) article.append(el("div", "muted", stage === "result" ? "Its result, as it would be returned" : "The message"), el("pre", null, json(own(p, "value"))));

    var noteId = title.id + "-note";
    var note = el("input");
    note.type = "text"; note.id = noteId; note.maxLength = 1000; note.autocomplete = "off";
    var noteLabel = el("label", null, "Note (optional)");
    noteLabel.htmlFor = noteId;
    article.append(noteLabel, note);
    var grant = null, g = own(p, "grant");
    if (g !== null && typeof g === "object") {
      grant = el("input");
      grant.type = "checkbox";
      article.append(el("label", "grant", grant, "Also grant: " + grantText(g)));
    }
    var approveBtn = el("button", "approve", "Approve");
    var rejectBtn = el("button", "reject", "Reject");
    approveBtn.type = rejectBtn.type = "button";
    approveBtn.setAttribute("aria-label", "Approve " + title.textContent);
    rejectBtn.setAttribute("aria-label", "Reject " + title.textContent);
    var err = el("p", "err");
    err.setAttribute("role", "alert");
    article.append(el("div", "actions", approveBtn, rejectBtn), err);
    var li = el("li", null, article);
    var c = { p: p, li: li, title: title, left: left, note: note, grant: grant, buttons: [approveBtn, rejectBtn], err: err, expires: own(p, "expiresAt") ? Date.parse(p.expiresAt) : null };
    approveBtn.addEventListener("click", function () { answer(c, true); });
    rejectBtn.addEventListener("click", function () { answer(c, false); });
    article.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { note.value = ""; title.focus(); ev.preventDefault(); }
    });
    tick(c);
    return c;
  }

  function tick(c) {
    if (c.expires === null) { c.left.textContent = "no time limit"; return; }
    var ms = c.expires - (Date.now() + skew);
    c.left.textContent = clock(ms);
    c.left.classList.toggle("low", ms < 60000);
    if (ms <= 0) c.buttons.forEach(function (b) { b.disabled = true; });
  }

  function count() {
    byId("count").textContent = "(" + cards.size + ")";
    byId("empty").hidden = cards.size > 0;
  }
  function add(p) {
    var id = own(p, "id");
    if (typeof id !== "string" || cards.has(id)) return;
    var c = card(p);
    cards.set(id, c);
    byId("list").append(c.li);
    count();
  }
  function remove(id, why) {
    var c = cards.get(id);
    if (!c) return;
    var had = c.li.contains(document.activeElement);
    var next = c.li.nextElementSibling || c.li.previousElementSibling;
    cards.delete(id);
    c.li.remove();
    count();
    if (why) say(why);
    if (had) { var h = next ? next.querySelector("h3") : byId("queue-title"); if (h) h.focus(); }
  }

  function answer(c, approved) {
    var body = { approved: approved, actionHash: c.p.actionHash };
    if (typeof own(c.p, "valueHash") === "string") body.valueHash = c.p.valueHash;
    if (c.note.value !== "") body.note = c.note.value;
    if (c.grant) body.grant = c.grant.checked;
    c.buttons.forEach(function (b) { b.disabled = true; });
    c.err.textContent = "";
    send("POST", "approvals/" + encodeURIComponent(c.p.id), body).then(function (r) {
      if (r.status === 200) { remove(c.p.id, (approved ? "Approved " : "Rejected ") + c.title.textContent); return; }
      if (r.status === 202 && r.body) { c.err.textContent = safe("Your vote counts: " + own(r.body, "votes") + " of " + own(r.body, "quorum") + " approvals so far."); return; }
      if (r.status === 401) { signedOut("Your session ended; sign in again."); return; }
      c.err.textContent = safe(errorText(r.body, r.status));
      if (r.status === 404) { setTimeout(function () { remove(c.p.id, null); }, 4000); return; }
      c.buttons.forEach(function (b) { b.disabled = false; });
    }, function () { c.err.textContent = "the console cannot reach the approval service"; c.buttons.forEach(function (b) { b.disabled = false; }); });
  }

  function listen() {
    if (source) source.close();
    source = new EventSource("console/events");
    source.addEventListener("snapshot", function (ev) {
      var d = JSON.parse(ev.data);
      skew = Date.parse(d.now) - Date.now();
      cards.forEach(function (c, id) { remove(id, null); });
      d.pending.forEach(add);
      fail("");
      say(cards.size === 0 ? "Connected. Nothing is waiting for you." : "Connected. " + cards.size + " waiting.");
    });
    source.addEventListener("requested", function (ev) { var p = JSON.parse(ev.data); add(p); say("New request: " + (cards.get(p.id) ? cards.get(p.id).title.textContent : p.id)); });
    source.addEventListener("settled", function (ev) { var id = JSON.parse(ev.data).id; var c = cards.get(id); if (c) remove(id, "Settled: " + c.title.textContent); });
    source.addEventListener("expired", function () { signedOut("Your session ended; sign in again."); });
    source.onerror = function () {
      if (source && source.readyState === EventSource.CLOSED) signedOut("The live connection was refused; sign in again.");
      else say("Reconnecting…");
    };
  }

  function signedIn(s) {
    session = s;
    byId("who").textContent = safe("Signed in as " + s.approver.name + (s.approver.groups.length ? " (" + s.approver.groups.join(", ") + ")" : ""));
    byId("signin").hidden = true;
    byId("signout").hidden = false;
    byId("queue").hidden = false;
    count();
    listen();
    byId("queue-title").focus();
  }
  function signedOut(why) {
    if (source) { source.close(); source = null; }
    csrf = null; session = null;
    cards.forEach(function (c, id) { remove(id, null); });
    byId("who").textContent = "";
    byId("signin").hidden = false;
    byId("signout").hidden = true;
    byId("queue").hidden = true;
    if (why) fail(why);
    byId("token").focus();
  }

  byId("signin").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = byId("token"), token = input.value;
    input.value = "";
    fail("");
    send("POST", "console/session", { token: token }).then(function (r) {
      if (r.status !== 200 || !r.body) { fail(errorText(r.body, r.status)); input.focus(); return; }
      csrf = r.body.csrf;
      signedIn(r.body);
    }, function () { fail("the console cannot reach the approval service"); });
  });
  byId("signout").addEventListener("click", function () {
    send("DELETE", "console/session").then(function () { signedOut("Signed out."); }, function () { signedOut("Signed out."); });
  });
  setInterval(function () { cards.forEach(tick); }, 1000);
  byId("token").focus();
})();
`;

const BODY = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Agent Armor approvals</title>
<style nonce="${NONCE}">${STYLE}</style>
</head>
<body>
<header>
<h1>Agent Armor approvals</h1>
<span id="who"></span>
<button id="signout" type="button" hidden>Sign out</button>
</header>
<main>
<p id="error" role="alert"></p>
<p id="status" role="status" aria-live="polite"></p>
<form id="signin" aria-labelledby="signin-title" autocomplete="off">
<h2 id="signin-title">Sign in</h2>
<label for="token">Approver token</label>
<input id="token" name="token" type="password" required spellcheck="false">
<p class="muted">The token is exchanged for a session of this tab; it is not stored.</p>
<button type="submit">Sign in</button>
</form>
<section id="queue" aria-labelledby="queue-title" hidden>
<h2 id="queue-title" tabindex="-1">Pending requests <span id="count"></span></h2>
<p id="empty" class="muted">Nothing is waiting for you.</p>
<ol id="list" class="list"></ol>
</section>
</main>
<script nonce="${NONCE}">${SCRIPT}</script>
</body>
</html>
`;

/** The page, with `nonce` on its one style and its one script. */
export function consolePage(nonce: string): string {
  if (!/^[A-Za-z0-9+/_-]{16,}={0,2}$/.test(nonce)) throw new Error("a CSP nonce is base64 text of at least 16 characters");
  return BODY.replaceAll(NONCE, nonce);
}

/** The Content-Security-Policy the page is served with: its own nonce'd script and style, calls to its own origin, nothing else. */
export function consolePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}
