// Sedno console, telephony: the status switch in the top bar and the screen pop of a ringing
// call. The server tells this page of the consultant's calls over Server-Sent Events; the pop's
// HTML is rendered by the server (escaped there) and fetched by call id.
"use strict";

(function () {
  const slot = document.getElementById("tel-status");
  if (!slot) return;
  const pad = (n) => String(n).padStart(2, "0");

  async function html(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.text();
  }

  // ------------------------------------------------------------ status switch (top bar)
  async function loadStatus() {
    try {
      slot.innerHTML = await html(slot.dataset.src);
    } catch (err) { return; }
    const form = slot.querySelector("form");
    const select = form && form.querySelector("select");
    if (!select) return;
    select.addEventListener("change", async () => {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        body: new URLSearchParams(new FormData(form)),
        redirect: "manual",
      });
      // 303 (opaque redirect) means saved; reload the switch to show what the server holds.
      if (response.type === "opaqueredirect" || response.ok) loadStatus();
      else form.submit();
    });
  }

  // ------------------------------------------------------------ screen pop
  let pop = null;
  function popBox() {
    if (!pop) {
      pop = document.createElement("aside");
      pop.id = "tel-pop";
      pop.setAttribute("role", "dialog");
      pop.setAttribute("aria-live", "assertive");
      pop.setAttribute("aria-label", slot.dataset.popLabel || "");
      pop.addEventListener("click", (event) => {
        if (event.target.closest("[data-close-pop]")) { pop.hidden = true; pop.innerHTML = ""; }
      });
      document.body.appendChild(pop);
    }
    return pop;
  }

  let ticker = null;
  function tickStopwatch() {
    const el = pop && pop.querySelector("[data-pop-stopwatch]");
    if (!el) return;
    const total = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.since)) / 1000));
    el.textContent = pad(Math.floor(total / 60)) + ":" + pad(total % 60);
  }

  async function showCall(message) {
    let body;
    try {
      body = await html("/fragments/telephony/pop/" + message.call.id);
    } catch (err) { return; }
    const box = popBox();
    const shown = box.querySelector("[data-call]");
    // A later event of another call does not replace a ringing one the consultant has not seen.
    if (message.event !== "ringing" && shown && shown.dataset.call !== String(message.call.id)) return;
    box.innerHTML = body;
    box.hidden = false;
    box.dataset.event = message.event;
    clearInterval(ticker);
    tickStopwatch();
    ticker = setInterval(tickStopwatch, 1000);
    if (message.event === "ringing") {
      const close = box.querySelector("[data-close-pop]");
      if (close) close.focus({ preventScroll: true });
    }
  }

  function listen() {
    const source = new EventSource(slot.dataset.stream);
    for (const kind of ["ringing", "answered", "ended"]) {
      source.addEventListener(kind, (event) => {
        const message = JSON.parse(event.data);
        showCall(message);
        if (kind !== "ringing") loadStatus();
      });
    }
    source.addEventListener("open", () => { document.body.dataset.telStream = "open"; });
    // EventSource reconnects by itself (with Last-Event-ID); nothing to do on error.
  }

  loadStatus();
  listen();
})();
