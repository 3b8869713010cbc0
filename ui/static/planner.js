// Sedno planner: drag a task (or an appointment) onto a technician's time, or do the same
// with the keyboard (pick with a button, then Enter on a time; Esc stops). The server checks
// every rule; a refusal is shown in the status line. No inline scripts (the CSP forbids them).
"use strict";

(function () {
  const root = document.getElementById("planner");
  if (!root) return;
  const statusLine = document.getElementById("planner-status");
  const FLASH_KEY = "sedno-planner-flash";
  const slotMs = Number(root.dataset.slotMinutes || "30") * 60 * 1000;
  let picked = null; // {kind: "task", ticket, label} | {kind: "appt", id, label}
  let pickedEl = null;
  let dragged = null;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function refusal(slug) {
    const key = "err" + slug.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
    return root.dataset[key] || root.dataset.errOther;
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        // The API takes the session cookie only with the page's CSRF token.
        "X-CSRFToken": (document.querySelector('input[name="_csrf_token"]') || {}).value || "",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) return response.json();
    let slug = "other";
    try {
      const problem = await response.json();
      slug = problem.type || slug;
    } catch (_) { /* not JSON */ }
    throw new Error(slug);
  }

  function reloadSaying(text) {
    sessionStorage.setItem(FLASH_KEY, text);
    window.location.reload();
  }

  async function run(request, done) {
    try {
      await request();
      reloadSaying(done);
    } catch (error) {
      say(refusal(error.message), true);
    }
  }

  function place(item, slot) {
    const start = slot.dataset.start;
    const operator = Number(slot.dataset.operator);
    stopPicking();
    if (item.kind === "task") {
      return run(() => api("POST", "/api/planner/appointments",
        { ticket_id: item.ticket, operator_id: operator, start }), root.dataset.msgSaved);
    }
    return run(() => api("PATCH", `/api/planner/appointments/${item.id}`,
      { start, operator_id: operator }), root.dataset.msgSaved);
  }

  function itemOf(el) {
    const task = el.closest("[data-ticket]");
    if (task) return { kind: "task", ticket: Number(task.dataset.ticket), label: task.dataset.label, el: task };
    const appt = el.closest("[data-appointment]");
    if (appt) return { kind: "appt", id: Number(appt.dataset.appointment), label: appt.dataset.label, el: appt };
    return null;
  }

  // ------------------------------------------------------------ keyboard (and pointer) picking
  function startPicking(item, button) {
    stopPicking();
    picked = item;
    pickedEl = item.el;
    pickedEl.classList.add("picked");
    root.classList.add("picking");
    if (button) button.setAttribute("aria-pressed", "true");
    say(root.dataset.msgPicked.replace("{what}", item.label), false);
    const first = root.querySelector(".slot.free");
    if (first) first.focus();
  }

  function stopPicking() {
    if (pickedEl) pickedEl.classList.remove("picked");
    root.querySelectorAll("[aria-pressed=true]").forEach((b) => b.setAttribute("aria-pressed", "false"));
    root.classList.remove("picking");
    picked = null;
    pickedEl = null;
  }

  function resize(appt, deltaMs) {
    const end = new Date(new Date(appt.dataset.end).getTime() + deltaMs);
    return run(() => api("PATCH", `/api/planner/appointments/${appt.dataset.appointment}`,
      { end: end.toISOString() }), root.dataset.msgSaved);
  }

  root.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-pick-ticket]");
    if (pick) {
      const item = itemOf(pick);
      if (picked && picked.el === item.el) { stopPicking(); say("", false); } else startPicking(item, pick);
      return;
    }
    const action = event.target.closest("[data-action]");
    if (action) {
      const appt = action.closest("[data-appointment]");
      const kind = action.dataset.action;
      if (kind === "move") startPicking(itemOf(appt), action);
      else if (kind === "shorter") resize(appt, -slotMs);
      else if (kind === "longer") resize(appt, slotMs);
      else if (kind === "cancel") {
        run(() => api("DELETE", `/api/planner/appointments/${appt.dataset.appointment}`),
          root.dataset.msgCancelled);
      }
      return;
    }
    const slot = event.target.closest(".slot");
    if (slot && picked && !slot.disabled) place(picked, slot);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && picked) {
      const back = picked.el.querySelector("[data-pick-ticket], [data-action=move]");
      stopPicking();
      say("", false);
      if (back) back.focus();
    }
  });

  // ------------------------------------------------------------ drag and drop
  root.addEventListener("dragstart", (event) => {
    const item = itemOf(event.target);
    if (!item) return;
    dragged = item;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.label || "");
  });

  root.addEventListener("dragend", () => {
    dragged = null;
    root.querySelectorAll(".drop-target").forEach((el) => el.classList.remove("drop-target"));
  });

  root.addEventListener("dragover", (event) => {
    const slot = event.target.closest(".slot");
    if (!dragged || !slot || slot.disabled) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    slot.classList.add("drop-target");
  });

  root.addEventListener("dragleave", (event) => {
    const slot = event.target.closest(".slot");
    if (slot) slot.classList.remove("drop-target");
  });

  root.addEventListener("drop", (event) => {
    const slot = event.target.closest(".slot");
    if (!dragged || !slot || slot.disabled) return;
    event.preventDefault();
    const item = dragged;
    dragged = null;
    place(item, slot);
  });

  const flash = sessionStorage.getItem(FLASH_KEY);
  if (flash) {
    sessionStorage.removeItem(FLASH_KEY);
    say(flash, false);
  }
})();
