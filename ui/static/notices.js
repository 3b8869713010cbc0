// The bell in the top bar: the caller's unread notices, asked for on load and every minute.
(function () {
  "use strict";
  function refresh(bell, count) {
    fetch(bell.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        count.textContent = body.unread > 99 ? "99+" : String(body.unread);
        count.hidden = body.unread === 0;
        bell.classList.toggle("has-unread", body.unread > 0);
      })
      .catch(function () { /* offline: keep the last count */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var bell = document.getElementById("bell");
    var count = document.getElementById("bell-count");
    if (!bell || !count) { return; }
    refresh(bell, count);
    window.setInterval(function () { refresh(bell, count); }, 60000);
  });
})();
