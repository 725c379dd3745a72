/* wirestream newsroom page: plain JavaScript, no build step, nothing loaded from elsewhere.
 *
 * Reads the worker's documented JSON API (GET /events, GET /events/{id}), which gathers and
 * routes across workers, and follows the live feed GET /alerts/stream (Server-Sent Events, read
 * with fetch so that an API token can be sent). When the API answers 401 the page asks for the
 * token and sends it as "Authorization: Bearer ..." (kept in sessionStorage, this tab only).
 */
"use strict";

(() => {
  const LIST_LIMIT = 500;
  const FACTS_SHOWN = 60;
  const TOKEN_KEY = "wirestream.apiToken";
  const POLL_MS = 5000;

  const state = {
    events: new Map(),     // event_id -> /events list item
    selected: null,        // event id shown in <main>
    snapshot: null,        // its /events/{id} snapshot
    unseen: new Set(),     // event ids with activity since the "n new" marker was last cleared
    newCount: 0,           // alerts + new events since then
    seenAlerts: new Set(), // alert ids counted already (a redelivered alert counts once)
    latest: [],            // recent alerts (the newest events' and those received live), newest first
    freshStories: new Set(), // "uri@version" that arrived while the open event was shown
    streamOk: false,
    loaded: false,         // the list was loaded once (later loads count new events)
    pollTimer: null,
    retryTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  /* ------------------------------------------------------------------ DOM helpers */

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const timeFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
  const dayTime = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  const shortTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  let languageNames = null;
  try { languageNames = new Intl.DisplayNames(["en"], { type: "language" }); } catch (e) { /* old browser */ }

  /* style: "short" (lists), "day" (headings) or full, with seconds (timelines) */
  function timeEl(iso, style) {
    if (!iso) return h("span", { text: "—" });
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return h("span", { text: iso });
    const format = style === "short" ? shortTime : style === "day" ? dayTime : timeFormat;
    return h("time", { datetime: iso, title: date.toISOString() }, format.format(date));
  }

  function languageName(code) {
    if (!code || code === "und") return "undetermined";
    try { return (languageNames && languageNames.of(code)) || code; } catch (e) { return code; }
  }

  function headlineOf(text) {
    return text ? text : h("span", { class: "no-headline" }, "(no headline)");
  }

  function langTag(code) {
    return h("abbr", { class: "lang", title: languageName(code), lang: "en" }, code || "und");
  }

  /* Highlight every occurrence of the phrases in text (whole words, any case): <mark>s. */
  function highlighted(text, phrases) {
    const frag = document.createDocumentFragment();
    const wanted = [...new Set((phrases || []).filter((p) => p && p.trim()))].sort((a, b) => b.length - a.length);
    if (!wanted.length) { frag.append(text); return frag; }
    const escaped = wanted.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s+/g, "\\s+"));
    let pattern;
    try {
      pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu");
    } catch (e) {
      pattern = new RegExp(escaped.join("|"), "gi");
    }
    let at = 0;
    for (const match of text.matchAll(pattern)) {
      if (!match[0]) continue;
      frag.append(text.slice(at, match.index), h("mark", {}, match[0]));
      at = match.index + match[0].length;
    }
    frag.append(text.slice(at));
    return frag;
  }

  /* ------------------------------------------------------------------ API */

  function authHeaders() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  let tokenPrompt = null;
  function askToken(rejected) {
    if (tokenPrompt) return tokenPrompt;
    const dialog = $("token-dialog");
    const error = $("token-error");
    error.hidden = !rejected;
    error.textContent = rejected ? "The API did not accept that token. Check it and try again." : "";
    tokenPrompt = new Promise((resolve) => {
      const form = $("token-form");
      const onSubmit = (ev) => {
        ev.preventDefault();
        const value = $("token-input").value.trim();
        if (!value) return;
        sessionStorage.setItem(TOKEN_KEY, value);
        form.removeEventListener("submit", onSubmit);
        dialog.close();
        tokenPrompt = null;
        resolve();
      };
      form.addEventListener("submit", onSubmit);
      if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
      $("token-input").focus();
    });
    return tokenPrompt;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path) {
    for (let attempt = 0; ; attempt++) {
      const resp = await fetch(path, { headers: { Accept: "application/json", ...authHeaders() } });
      if (resp.status === 401 && attempt < 5) {
        await askToken(Boolean(sessionStorage.getItem(TOKEN_KEY)));
        continue;
      }
      let body = null;
      try { body = await resp.json(); } catch (e) { /* not JSON */ }
      if (!resp.ok) throw new ApiError(resp.status, (body && body.error) || `${resp.status} ${resp.statusText}`);
      return body;
    }
  }

  /* ------------------------------------------------------------------ status and "n new" */

  function setStatus(kind, text) {
    const el = $("status");
    el.dataset.state = kind;
    el.textContent = text;
  }

  function bumpNew(n) {
    state.newCount += n;
    const marker = $("new-marker");
    $("new-count").textContent = String(state.newCount);
    marker.hidden = state.newCount === 0;
  }

  function clearNew() {
    state.newCount = 0;
    state.unseen.clear();
    bumpNew(0);
    renderList();
    $("events").scrollTop = 0;
    const first = $("events").querySelector("a");
    if (first) first.focus(); else $("events-heading").focus();
  }

  /* ------------------------------------------------------------------ events list */

  function byActivity(a, b) {
    return (b.last_update || "").localeCompare(a.last_update || "") || a.event_id.localeCompare(b.event_id);
  }

  function languagesOf(item) {
    return item.languages && item.languages.length ? item.languages : [item.lang || "und"];
  }

  function fillSelect(select, values, label) {
    const current = select.value;
    const options = [h("option", { value: "" }, label)];
    for (const [value, text] of values) options.push(h("option", { value }, text));
    select.replaceChildren(...options);
    select.value = values.some(([v]) => v === current) ? current : "";
  }

  function renderFilters() {
    const langs = new Set();
    const sources = new Set();
    for (const item of state.events.values()) {
      languagesOf(item).forEach((l) => langs.add(l));
      (item.sources || []).forEach((s) => sources.add(s));
    }
    fillSelect($("filter-lang"), [...langs].sort().map((l) => [l, `${languageName(l)} (${l})`]), "All languages");
    fillSelect($("filter-source"), [...sources].sort((a, b) => a.localeCompare(b)).map((s) => [s, s]), "All sources");
  }

  function matches(item) {
    const lang = $("filter-lang").value;
    const source = $("filter-source").value;
    const words = $("filter-text").value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    if (lang && !languagesOf(item).includes(lang)) return false;
    if (source && !(item.sources || []).includes(source)) return false;
    if (words.length) {
      const hay = [item.headline, item.event_id, ...(item.sources || [])].join(" ").toLocaleLowerCase();
      if (!words.every((w) => hay.includes(w))) return false;
    }
    return true;
  }

  function renderList() {
    const all = [...state.events.values()].sort(byActivity);
    const shown = all.filter(matches);
    const list = $("events");
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.eventId : null;
    list.replaceChildren(...shown.map((item) => {
      const fresh = state.unseen.has(item.event_id);
      const current = item.event_id === state.selected;
      const link = h("a", {
        class: "event-link", href: `#/event/${encodeURIComponent(item.event_id)}`,
        "data-event-id": item.event_id, "aria-current": current ? "page" : null,
      },
      h("span", { class: "event-headline" }, item.headline || "(no headline)",
        fresh ? h("span", { class: "badge badge-new" }, "new") : null),
      h("span", { class: "event-meta" },
        h("span", { class: "stat" }, `${item.story_count} ${item.story_count === 1 ? "story" : "stories"}`),
        " · ", ...languagesOf(item).flatMap((l, i) => (i ? [" ", langTag(l)] : [langTag(l)])),
        " · ", h("span", { class: "sources" }, (item.sources || []).join(", ") || "no source")),
      h("span", { class: "event-times" },
        "first ", timeEl(item.first_seen, "short"), " · updated ", timeEl(item.last_update, "short")));
      return h("li", { class: fresh ? "fresh" : null }, link);
    }));
    if (focusedId) {
      const again = list.querySelector(`[data-event-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
    $("list-count").textContent = shown.length === all.length
      ? `${all.length} ${all.length === 1 ? "event" : "events"}`
      : `${shown.length} of ${all.length} events`;
    if (!all.length) list.append(h("li", { class: "empty" }, "No events yet. They appear here as stories arrive."));
    else if (!shown.length) list.append(h("li", { class: "empty" }, "No event matches the filters."));
  }

  async function loadList() {
    const body = await api(`/events?limit=${LIST_LIMIT}`);
    state.events = new Map(body.events.map((e) => [e.event_id, e]));
    const warning = $("list-warning");
    warning.hidden = !body.partial;
    warning.textContent = body.partial
      ? `Some workers did not answer (${(body.unavailable || []).join(", ")}): their events may be missing.` : "";
    renderFilters();
    renderList();
  }

  /* ------------------------------------------------------------------ one event */

  function storyKey(uri, version) { return `${uri}@${version}`; }

  function renderEvent() {
    const snap = state.snapshot;
    const el = $("event");
    if (!snap) { el.hidden = true; $("home").hidden = false; return; }
    $("home").hidden = true;
    el.hidden = false;

    const storiesByKey = new Map(snap.stories.map((s) => [storyKey(s.uri, s.version), s]));
    const factsByAlert = new Map();
    for (const fact of snap.facts) {
      if (!fact.alert_id) continue;
      if (!factsByAlert.has(fact.alert_id)) factsByAlert.set(fact.alert_id, []);
      factsByAlert.get(fact.alert_id).push(fact);
    }
    const languages = snap.languages && snap.languages.length ? snap.languages : [snap.lang];

    const header = h("header", { class: "event-head" },
      h("p", { class: "kicker" }, "Event ", h("code", {}, snap.event_id)),
      h("h2", { id: "event-headline" }, snap.headline || "(no headline)"),
      h("dl", { class: "facts-bar" },
        h("div", {}, h("dt", {}, "Stories"), h("dd", {}, String(snap.story_count))),
        h("div", {}, h("dt", {}, "Versions"), h("dd", {}, String(snap.stories.length))),
        h("div", {}, h("dt", {}, "Updates"), h("dd", {}, String((snap.alerts || []).length))),
        h("div", {}, h("dt", {}, languages.length > 1 ? "Languages" : "Language"),
          h("dd", {}, ...languages.flatMap((l, i) => (i ? [", ", langTag(l)] : [langTag(l)]))))),
      h("dl", { class: "facts-bar" },
        h("div", {}, h("dt", {}, "First seen"), h("dd", {}, timeEl(snap.first_seen, "day"))),
        h("div", {}, h("dt", {}, "Last update"), h("dd", {}, timeEl(snap.last_update, "day"))),
        h("div", {}, h("dt", {}, "Sources"), h("dd", {}, (snap.sources || []).join(", ") || "none named"))));

    // story updates, newest first
    const updates = (snap.updates || []).slice().reverse();
    const alertsSection = h("section", { class: "block", "aria-labelledby": "updates-heading" },
      h("h3", { id: "updates-heading" }, `Story updates (${updates.length})`),
      updates.length ? null : h("p", { class: "hint" }, "No story has added facts to this event yet."),
      h("ol", { class: "alerts" }, updates.map((u) => {
        const facts = factsByAlert.get(u.alert_id) || [];
        const fresh = state.freshStories.has(storyKey(u.uri, u.version));
        return h("li", { class: `alert${fresh ? " fresh" : ""}`, id: `alert-${u.alert_id}` },
          h("p", { class: "alert-head" },
            h("span", { class: `badge kind-${u.kind}` }, u.kind === "new_version" ? `new version · v${u.version}` : "new story"),
            fresh ? h("span", { class: "badge badge-new" }, "new") : null,
            h("strong", { class: "alert-source" }, u.source || "unknown source"), " ", langTag(u.lang),
            " · ", timeEl(u.created_at)),
          h("p", { class: "alert-story" }, headlineOf(u.headline), " ", h("span", { class: "uri" }, `${u.uri} v${u.version}`)),
          h("ul", { class: "new-facts", "aria-label": `${facts.length} new ${facts.length === 1 ? "fact" : "facts"}` },
            facts.map((f) => h("li", {},
              h("p", { class: "fact-text" }, highlighted(f.text, [...(f.names || []), ...(f.numbers || []), ...(f.terms || [])])),
              termsLine(f)))),
          h("p", { class: "alert-id" }, "alert ", h("code", {}, u.alert_id)));
      })));

    // timeline of stories, oldest first
    const seen = new Set();
    const timeline = h("section", { class: "block", "aria-labelledby": "timeline-heading" },
      h("h3", { id: "timeline-heading" }, `Timeline (${snap.stories.length} ${snap.stories.length === 1 ? "version" : "versions"})`),
      h("ol", { class: "timeline" }, snap.stories.map((s) => {
        const kind = seen.has(s.uri) ? `v${s.version} of a known story` : (seen.size ? "another story" : "first report");
        seen.add(s.uri);
        const fresh = state.freshStories.has(storyKey(s.uri, s.version));
        return h("li", { class: fresh ? "fresh" : null },
          h("div", { class: "when" }, timeEl(s.time)),
          h("div", { class: "what" },
            h("p", { class: "story-headline" }, headlineOf(s.headline),
              fresh ? h("span", { class: "badge badge-new" }, "new") : null),
            h("p", { class: "story-meta" },
              h("strong", {}, s.source || "unknown source"), " · ", langTag(s.lang), " · ",
              h("span", { class: "version" }, `version ${s.version}`), " · ", kind, " · ",
              h("span", { class: "uri" }, s.uri))));
      })));

    // facts and who reported each first
    const factsList = h("tbody", {});
    const renderFacts = (limit) => {
      factsList.replaceChildren(...snap.facts.slice(0, limit).map((f) => {
        const story = storiesByKey.get(storyKey(f.uri, f.version));
        return h("tr", {},
          h("td", { class: "fact-text" }, f.alert_id
            ? highlighted(f.text, [...(f.names || []), ...(f.numbers || []), ...(f.terms || [])]) : f.text),
          h("td", {}, h("strong", {}, f.source || "unknown source"),
            h("br"), h("span", { class: "uri" }, f.version ? `${f.uri} v${f.version}` : f.uri || ""),
            story && story.headline ? h("span", { class: "visually-hidden" }, ` (${story.headline})`) : null),
          h("td", {}, timeEl(f.first_seen, "day")));
      }));
    };
    renderFacts(FACTS_SHOWN);
    const more = snap.facts.length > FACTS_SHOWN
      ? h("button", { type: "button", class: "secondary", onclick: (ev) => { renderFacts(snap.facts.length); ev.target.remove(); } },
        `Show all ${snap.facts.length} facts`)
      : null;
    const factsSection = h("section", { class: "block", "aria-labelledby": "facts-heading" },
      h("h3", { id: "facts-heading" }, `Facts (${snap.facts.length})`),
      h("p", { class: "hint" }, "Each fact with the story and source that reported it first. Words that were new when it was reported are marked."),
      h("table", { class: "facts" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Fact"), h("th", { scope: "col" }, "First reported by"), h("th", { scope: "col" }, "When"))),
        factsList),
      more);

    el.replaceChildren(header, alertsSection, timeline, factsSection);
    document.title = `${snap.headline || snap.event_id} · Newsroom · wirestream`;
  }

  function termsLine(fact) {
    const parts = [];
    for (const [label, values] of [["names", fact.names], ["figures", fact.numbers], ["terms", fact.terms]]) {
      if (values && values.length) parts.push(h("span", {}, h("span", { class: "label" }, `${label}: `), values.join(", ")));
    }
    if (!parts.length) return null;
    return h("p", { class: "terms" }, h("span", { class: "visually-hidden" }, "New "),
      ...parts.flatMap((p, i) => (i ? [" · ", p] : [p])));
  }

  let eventRequest = 0;
  async function loadEvent(id, want) {
    const ticket = ++eventRequest;
    // A feed message can run ahead of the table the API reads: retry until the snapshot has it.
    for (let attempt = 0; attempt < 8; attempt++) {
      let snap;
      try {
        snap = await api(`/events/${encodeURIComponent(id)}`);
      } catch (err) {
        if (ticket !== eventRequest) return;
        if (err.status === 404 && attempt < 3 && want) { await sleep(300); continue; }
        state.snapshot = null;
        renderEvent();
        $("home").hidden = true;
        const el = $("event");
        el.hidden = false;
        el.replaceChildren(h("h2", { id: "event-headline" }, err.status === 404 ? "Unknown event" : "Could not load the event"),
          h("p", { class: "warning" }, `${id}: ${err.message}`));
        return;
      }
      if (ticket !== eventRequest) return;
      const caughtUp = !want || (snap.stories.length >= want.stories && (snap.alerts || []).length >= want.alerts);
      if (caughtUp || attempt === 7) {
        if (state.snapshot && state.snapshot.event_id === id) {
          const known = new Set(state.snapshot.stories.map((s) => storyKey(s.uri, s.version)));
          for (const s of snap.stories) if (!known.has(storyKey(s.uri, s.version))) state.freshStories.add(storyKey(s.uri, s.version));
        }
        state.snapshot = snap;
        renderEvent();
        return;
      }
      await sleep(250);
    }
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /* ------------------------------------------------------------------ home: latest alerts */

  const LATEST_EVENTS = 8; // the home page shows the updates of the most recently active events

  function addLatest(alerts) {
    const known = new Set(state.latest.map((a) => a.alert_id));
    for (const a of alerts) if (!known.has(a.alert_id)) { state.latest.push(a); known.add(a.alert_id); }
    state.latest.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
    state.latest.length = Math.min(state.latest.length, 100);
    renderLatest();
  }

  /* The alerts an event snapshot holds, in the shape of wire.story-updates alerts. */
  function alertsOf(snap) {
    return (snap.updates || []).map((u) => ({
      alert_id: u.alert_id, kind: u.kind, event_id: snap.event_id, created_at: u.created_at,
      story: { uri: u.uri, version: u.version, headline: u.headline, source: u.source, lang: u.lang },
      new_facts: snap.facts.filter((f) => f.alert_id === u.alert_id),
      event: { headline: snap.headline },
    }));
  }

  async function loadLatest() {
    const recent = [...state.events.values()].sort(byActivity).slice(0, LATEST_EVENTS);
    const snaps = await Promise.all(recent.map((e) => api(`/events/${encodeURIComponent(e.event_id)}`).catch(() => null)));
    addLatest(snaps.filter(Boolean).flatMap(alertsOf));
  }

  function renderLatest() {
    const list = $("latest-alerts");
    if (!state.latest.length) {
      list.replaceChildren(h("li", { class: "empty" }, "No story updates yet. They appear here as they arrive."));
      return;
    }
    list.replaceChildren(...state.latest.slice(0, 50).map((a) => {
      const story = a.story || {};
      return h("li", { class: `alert${a.live ? " fresh" : ""}` },
        h("p", { class: "alert-head" },
          h("span", { class: `badge kind-${a.kind}` }, a.kind === "new_version" ? `new version · v${story.version}` : "new story"),
          a.live ? h("span", { class: "badge badge-new" }, "new") : null,
          h("strong", {}, story.source || "unknown source"), " ", langTag(story.lang), " · ", timeEl(a.created_at)),
        h("p", { class: "alert-story" },
          h("a", { href: `#/event/${encodeURIComponent(a.event_id)}` }, (a.event && a.event.headline) || a.event_id)),
        h("p", { class: "story-meta" }, "Story: ", headlineOf(story.headline), " ", h("span", { class: "uri" }, `${story.uri} v${story.version}`)),
        h("ul", { class: "new-facts" }, (a.new_facts || []).map((f) => h("li", {},
          h("p", { class: "fact-text" }, highlighted(f.text, [...(f.names || []), ...(f.numbers || []), ...(f.terms || [])]))))));
    }));
  }

  /* ------------------------------------------------------------------ the live feed */

  function onFeed(name, data) {
    if (name === "ready") {
      state.streamOk = true;
      setStatus("live", "Live");
      stopPolling();
      refreshAll();
    } else if (name === "event") {
      const before = state.events.get(data.event_id);
      const { stories, alerts, ...item } = data;
      if (!before) bumpNew(1);
      if (!before || before.last_update !== item.last_update || before.story_count !== item.story_count) state.unseen.add(data.event_id);
      state.events.set(data.event_id, { ...(before || {}), ...item });
      renderFilters();
      renderList();
      if (state.selected === data.event_id) loadEvent(data.event_id, { stories, alerts });
    } else if (name === "alert") {
      if (state.seenAlerts.has(data.alert_id)) return;
      state.seenAlerts.add(data.alert_id);
      bumpNew(1);
      state.unseen.add(data.event_id);
      addLatest([{ ...data, live: true }]);
      renderLatest();
      renderList();
    } else if (name === "reset") {
      refreshAll();
    }
  }

  function parseFrames(buffer, emit) {
    // SSE: messages separated by a blank line; "event:" and "data:" fields; ":" comments
    const parts = buffer.split(/\r?\n\r?\n/);
    const rest = parts.pop();
    for (const part of parts) {
      let name = "message";
      const data = [];
      for (const line of part.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) {
        try { emit(name, JSON.parse(data.join("\n"))); } catch (e) { console.warn("feed:", e); }
      }
    }
    return rest;
  }

  async function follow() {
    let delay = 1000;
    for (;;) {
      try {
        const resp = await fetch("/alerts/stream", { headers: { Accept: "text/event-stream", ...authHeaders() } });
        if (resp.status === 401) { await askToken(Boolean(sessionStorage.getItem(TOKEN_KEY))); continue; }
        if (!resp.ok || !resp.body) throw new Error(`live feed answered ${resp.status}`);
        delay = 1000;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = parseFrames(buffer + value, onFeed);
        }
        throw new Error("live feed closed");
      } catch (err) {
        state.streamOk = false;
        setStatus("offline", "Reconnecting… (refreshing every 5 s meanwhile)");
        startPolling();
        await sleep(delay);
        delay = Math.min(delay * 2, 15000);
      }
    }
  }

  function startPolling() {
    if (state.pollTimer) return;
    refreshAll();
    state.pollTimer = setInterval(() => { if (!state.streamOk) refreshAll(); }, POLL_MS);
  }

  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  async function refreshAll() {
    try {
      const before = new Set(state.events.keys());
      const hadList = state.loaded;
      await loadList();
      state.loaded = true;
      if (hadList) {
        for (const id of state.events.keys()) if (!before.has(id)) { bumpNew(1); state.unseen.add(id); }
        renderList();
      }
      if (state.selected) await loadEvent(state.selected);
      else await loadLatest();
      if (state.streamOk) setStatus("live", "Live");
    } catch (err) {
      // e.g. 503 while the worker is still starting: say so, and try again soon
      setStatus("offline", `The API answered: ${err.message}; retrying`);
      if (state.streamOk && !state.retryTimer) {
        state.retryTimer = setTimeout(() => { state.retryTimer = null; refreshAll(); }, 2000);
      }
    }
  }

  /* ------------------------------------------------------------------ routing */

  function route() {
    const match = location.hash.match(/^#\/event\/(.+)$/);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id === state.selected) return;
    state.selected = id;
    if (id) state.unseen.delete(id); // looked at now
    state.snapshot = null;
    state.freshStories.clear();
    renderList();
    if (id) {
      loadEvent(id).then(() => $("main").focus({ preventScroll: true }));
    } else {
      renderEvent();
      document.title = "Newsroom · wirestream";
      if (state.loaded) loadLatest().catch(() => {});
    }
  }

  /* Up/Down (and Home/End) move between events in the list; Tab leaves it. */
  function listKeys(ev) {
    const links = [...$("events").querySelectorAll("a.event-link")];
    const at = links.indexOf(document.activeElement);
    if (at < 0 || !links.length) return;
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    links[Math.max(0, Math.min(links.length - 1, to))].focus();
  }

  /* ------------------------------------------------------------------ start */

  function start() {
    for (const id of ["filter-text", "filter-lang", "filter-source"]) $(id).addEventListener("input", renderList);
    $("filters").addEventListener("submit", (ev) => ev.preventDefault());
    $("new-marker").addEventListener("click", clearNew);
    $("events").addEventListener("keydown", listKeys);
    $("token-dialog").addEventListener("cancel", (ev) => ev.preventDefault());
    window.addEventListener("hashchange", route);
    renderLatest();
    route();
    follow();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
