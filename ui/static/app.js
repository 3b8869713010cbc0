// Sedno console: search as you type, keyboard use, client look-up, similar solutions,
// stopwatches. No inline scripts (the pages' CSP forbids them); no third-party code.
"use strict";

(function () {
  const SEARCH_DEBOUNCE_MS = 60;
  const LOOKUP_DEBOUNCE_MS = 120;
  const SIMILAR_DEBOUNCE_MS = 300;

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  // Fetch an HTML fragment rendered by the server; a newer request aborts the older one.
  const inflight = new Map();
  async function fragment(key, url) {
    const previous = inflight.get(key);
    if (previous) previous.abort();
    const controller = new AbortController();
    inflight.set(key, controller);
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: controller.signal,
    });
    if (response.redirected && response.url.includes("/login")) {
      window.location.href = response.url;
      return null;
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.text();
  }

  function afterPaint(callback) {
    requestAnimationFrame(() => setTimeout(callback, 0));
  }

  // ---------------------------------------------------------------- top bar on a phone
  // The page links fold behind a menu button on a narrow screen (CSS decides the width);
  // without this script the button stays hidden and the links stay shown.
  const menuToggle = document.getElementById("menu-toggle");
  const topbar = menuToggle && menuToggle.closest(".topbar");
  if (topbar) {
    topbar.classList.add("collapsible");
    menuToggle.hidden = false;
    menuToggle.addEventListener("click", () => {
      const open = topbar.classList.toggle("open");
      menuToggle.setAttribute("aria-expanded", String(open));
    });
  }

  // ---------------------------------------------------------------- search page
  const form = document.getElementById("search-form");
  const box = document.getElementById("q");
  const results = document.getElementById("results");
  const paintLabel = document.getElementById("paint-time");
  let selected = -1;
  let lastInputAt = 0;
  // Beside the hits (wide screens) the filters are always open; on a phone they are folded
  // under "Filtry" unless the consultant opened them, which the next keystroke's list keeps.
  const wide = window.matchMedia("(min-width: 760px)");
  let facetsOpen = false;

  function fitFacets() {
    const lists = results && results.querySelector("[data-facet-lists]");
    if (lists) lists.open = wide.matches || facetsOpen;
  }

  function hits() {
    return results ? Array.from(results.querySelectorAll(".hit")) : [];
  }

  function select(index) {
    const list = hits();
    if (!list.length) { selected = -1; return; }
    selected = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((el, i) => el.classList.toggle("selected", i === selected));
    list[selected].scrollIntoView({ block: "nearest" });
  }

  function searchParams() {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of Array.from(params.entries())) if (!v) params.delete(k);
    params.delete("open"); // only Enter sends it: opens the ticket whose number was typed
    return params;
  }

  async function runSearch() {
    const params = searchParams();
    const started = performance.now();
    let html;
    try {
      html = await fragment("search", form.dataset.fragment + "?" + params.toString());
    } catch (err) {
      if (err.name !== "AbortError") results.textContent = document.body.dataset.searchError || "!";
      return;
    }
    if (html === null) return;
    results.innerHTML = html;
    fitFacets();
    selected = -1;
    history.replaceState(null, "", "/" + (params.toString() ? "?" + params.toString() : ""));
    afterPaint(() => {
      const now = performance.now();
      const paint = now - started;
      const sinceKey = lastInputAt ? now - lastInputAt : paint;
      document.body.dataset.lastPaintMs = paint.toFixed(1);
      document.body.dataset.lastKeystrokeMs = sinceKey.toFixed(1);
      document.body.dataset.searches = String(Number(document.body.dataset.searches || 0) + 1);
      if (paintLabel) paintLabel.textContent = "· " + paint.toFixed(0) + " ms";
    });
  }

  function setFilter(field, value) {
    const existing = form.querySelector('input[data-filter][name="' + CSS.escape(field) + '"]');
    if (existing && existing.value === value) {
      existing.remove();
    } else if (existing) {
      existing.value = value;
    } else {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = field;
      input.value = value;
      input.dataset.filter = "";
      form.appendChild(input);
    }
    runSearch();
  }

  if (form && box && results) {
    const debounced = debounce(runSearch, SEARCH_DEBOUNCE_MS);
    box.addEventListener("input", () => { lastInputAt = performance.now(); debounced(); });
    box.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") { event.preventDefault(); select(selected + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); select(selected - 1); }
      else if (event.key === "Enter" && selected >= 0) {
        event.preventDefault();
        const link = hits()[selected].querySelector("a.hit-link");
        if (link) window.location.href = link.href;
      } else if (event.key === "Escape") { box.value = ""; runSearch(); }
    });
    results.addEventListener("click", (event) => {
      const facet = event.target.closest("[data-facet]");
      if (facet) { setFilter(facet.dataset.facet, facet.dataset.value); return; }
      if (event.target.closest("[data-clear-filters]")) {
        form.querySelectorAll("input[data-filter]").forEach((el) => el.remove());
        runSearch();
      }
    });
    // "toggle" does not bubble: listened for on the way down
    results.addEventListener("toggle", (event) => {
      if (!wide.matches && event.target.matches("[data-facet-lists]")) facetsOpen = event.target.open;
    }, true);
    wide.addEventListener("change", fitFacets);
    fitFacets();
    if (box.value) box.setSelectionRange(box.value.length, box.value.length);
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = (document.activeElement && document.activeElement.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) || document.activeElement.isContentEditable) return;
    event.preventDefault();
    if (box) { box.focus(); box.select(); } else { window.location.href = "/"; }
  });

  // ------------------------------------------- "this solved it" (reuse for the open call)
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.reuse");
    if (!button || button.disabled) return;
    button.disabled = true;
    const response = await fetch("/api/tickets/" + encodeURIComponent(button.dataset.ticket) + "/reuse", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        // The API takes the session cookie only with the page's CSRF token.
        "X-CSRFToken": (document.querySelector('input[name="_csrf_token"]') || {}).value || "",
      },
      body: JSON.stringify({ source_ticket_id: Number(button.dataset.source) }),
    });
    if (response.ok) {
      button.textContent = button.dataset.done;
      button.classList.add("done");
    } else {
      button.disabled = false;
      button.classList.add("failed");
    }
  });

  // ---------------------------------------------------------------- client look-up
  const clientBox = document.getElementById("client-q");
  const clientList = document.getElementById("client-results");
  if (clientBox && clientList) {
    clientBox.addEventListener("input", debounce(async () => {
      const q = clientBox.value.trim();
      if (!q) { clientList.innerHTML = ""; return; }
      try {
        const html = await fragment("clients", clientBox.dataset.fragment + "?q=" + encodeURIComponent(q));
        if (html !== null) clientList.innerHTML = html;
      } catch (err) { /* a newer request replaced this one */ }
    }, LOOKUP_DEBOUNCE_MS));
    clientList.addEventListener("click", (event) => {
      const option = event.target.closest(".client-option");
      if (!option) return;
      document.getElementById("client-id").value = option.dataset.clientId;
      document.getElementById("client-licence").value = option.dataset.licence;
      const chosen = document.getElementById("client-chosen");
      chosen.querySelector("strong").textContent = option.dataset.name + (option.dataset.licence ? " (" + option.dataset.licence + ")" : "");
      chosen.hidden = false;
      const slot = document.getElementById("client-warnings");
      slot.replaceChildren();
      const warnings = option.parentElement.querySelector("template.client-warnings");
      if (warnings) slot.appendChild(warnings.content.cloneNode(true));
      clientList.innerHTML = "";
      clientBox.value = "";
      const title = document.getElementById("title");
      if (title) title.focus();
    });
  }

  // ----------------------------------------------------- similar solutions beside a form
  const similar = document.getElementById("similar");
  if (similar) {
    const fields = Array.from(document.querySelectorAll("[data-similar]"));
    const refresh = async () => {
      const title = (document.getElementById("title") || {}).value || "";
      const text = ((document.getElementById("description") || {}).value || "").slice(0, 4000);
      if (!(title + text).trim()) return;
      const params = new URLSearchParams({ title: title.slice(0, 1000), text: text });
      if (similar.dataset.ticket) params.set("ticket", similar.dataset.ticket);
      try {
        const html = await fragment("similar", similar.dataset.fragment + "?" + params.toString());
        if (html !== null) similar.innerHTML = html;
      } catch (err) { /* replaced by a newer request */ }
    };
    const debounced = debounce(refresh, SIMILAR_DEBOUNCE_MS);
    fields.forEach((el) => el.addEventListener("input", debounced));
    refresh();
  }

  // ---------------------------------------------------------------- stopwatches
  const watches = Array.from(document.querySelectorAll("[data-stopwatch]"));
  if (watches.length) {
    const loadedAt = Date.now();
    const pad = (n) => String(n).padStart(2, "0");
    const tick = () => {
      for (const el of watches) {
        const base = Number(el.dataset.base || 0);
        let running = 0;
        if (el.dataset.since === "now") running = (Date.now() - loadedAt) / 1000;
        else if (el.dataset.since) running = (Date.now() - Date.parse(el.dataset.since)) / 1000;
        const total = Math.max(0, Math.floor(base + running));
        const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
        el.textContent = (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
      }
    };
    tick();
    setInterval(tick, 1000);
  }

  // ---------------------------------------------------------------- intake queue
  const selectSpam = document.querySelector("[data-select-spam]");
  if (selectSpam) {
    selectSpam.addEventListener("click", () => {
      document.querySelectorAll("input.bulk-pick").forEach((box) => {
        box.checked = box.dataset.classification !== "ham";
      });
    });
  }
})();
