// Sedno console: the client picker's keyboard, keyword suggestions, drag-and-drop upload.
// No inline scripts (the pages' CSP forbids them); no third-party code.
"use strict";

(function () {
  // ------------------------------------------ client picker: ↑/↓ into the list, Enter picks
  const box = document.getElementById("client-q");
  const list = document.getElementById("client-results");
  if (box && list) {
    const options = () => Array.from(list.querySelectorAll(".client-option"));
    box.addEventListener("keydown", (event) => {
      const all = options();
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        all[0].focus();
      } else if (event.key === "ArrowUp" && all.length) {
        event.preventDefault();
        all[all.length - 1].focus();
      } else if (event.key === "Enter") {
        // Enter in the look-up never submits the call form half-filled; it picks the first.
        event.preventDefault();
        if (all.length) all[0].click();
      }
    });
    list.addEventListener("keydown", (event) => {
      const all = options();
      const at = all.indexOf(document.activeElement);
      if (at < 0) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        all[Math.min(at + 1, all.length - 1)].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (at === 0) box.focus(); else all[at - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        box.focus();
      }
    });
    list.addEventListener("click", (event) => {
      const option = event.target.closest(".client-option");
      const link = document.getElementById("client-card-link");
      if (option && link) link.href = "/clients/" + encodeURIComponent(option.dataset.clientId);
    }, true);
  }

  // ------------------------------------------ keywords: suggestions, dictionary as you type
  document.querySelectorAll("input[data-keywords]").forEach((input) => {
    const listId = input.getAttribute("list");
    const datalist = listId ? document.getElementById(listId) : null;
    const dictionary = datalist ? Array.from(datalist.options).map((o) => o.value) : [];
    const parts = () => input.value.split(",").map((w) => w.trim()).filter(Boolean);
    input.addEventListener("input", () => {
      if (!datalist) return;
      // A datalist completes the whole value: offer "earlier words, <keyword>" for the last one.
      const words = input.value.split(",");
      const last = (words.pop() || "").trim().toLowerCase();
      const head = words.map((w) => w.trim()).filter(Boolean);
      const prefix = head.length ? head.join(", ") + ", " : "";
      datalist.replaceChildren(...dictionary
        .filter((k) => !last || k.toLowerCase().includes(last))
        .filter((k) => !head.map((h) => h.toLowerCase()).includes(k.toLowerCase()))
        .slice(0, 30)
        .map((k) => { const o = document.createElement("option"); o.value = prefix + k; return o; }));
    });
    const form = input.closest("form");
    if (!form) return;
    // Only words of the dictionary are taken (the server refuses others): say which ones are
    // not before the form is sent, so a call's form is never lost to a typo. Folded as the
    // server folds them: case, accents, ł.
    const fold = (w) => w.toLowerCase().normalize("NFD").replace(/\p{M}/gu, "")
      .replace(/ł/g, "l").split(/\s+/).join(" ");
    // Words the ticket carries already (an import's) stay allowed, as on the server.
    const carried = input.defaultValue.split(",").map((w) => w.trim()).filter(Boolean);
    const known = new Set([...dictionary, ...carried].map(fold));
    const unknown = () => parts().filter((w) => !known.has(fold(w)));
    input.addEventListener("input", () => input.setCustomValidity(""));
    form.addEventListener("submit", (event) => {
      const words = dictionary.length ? unknown() : [];
      if (!words.length) return;
      event.preventDefault();
      input.setCustomValidity(input.dataset.unknown.replace("{words}", words.join(", ")));
      input.reportValidity();
    });
    form.addEventListener("click", (event) => {
      const button = event.target.closest("[data-add-keyword]");
      if (!button) return;
      const words = parts();
      if (!words.map((w) => w.toLowerCase()).includes(button.dataset.addKeyword.toLowerCase())) {
        words.push(button.dataset.addKeyword);
      }
      input.value = words.join(", ");
      button.remove();
    });
  });

  // ------------------------------------------ attachments: drag and drop onto the ticket
  document.querySelectorAll("form.upload-form").forEach((form) => {
    const zone = form.querySelector("[data-drop-zone]");
    const input = form.querySelector("[data-upload-input]");
    const error = form.querySelector("[data-upload-error]");
    const max = Number(form.dataset.maxBytes || 0);
    const tooBig = (files) => max && Array.from(files).some((f) => f.size > max);
    const refuse = () => {
      error.textContent = form.dataset.tooBig;
      error.hidden = false;
    };
    form.addEventListener("submit", (event) => {
      if (tooBig(input.files)) { event.preventDefault(); refuse(); }
    });
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => {
      zone.classList.remove("dragging");
    }));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      const files = event.dataTransfer && event.dataTransfer.files;
      if (!files || !files.length) return;
      if (tooBig(files)) { refuse(); return; }
      input.files = files;
      form.requestSubmit();
    });
  });
})();
