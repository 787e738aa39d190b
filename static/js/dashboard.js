/* dashboard.js: keeps the on-site list current without reloading the page. */
(function () {
  "use strict";
  var box = document.getElementById("on-site");
  if (!box) { return; }
  var url = box.getAttribute("data-live-url");
  var seconds = parseInt(box.getAttribute("data-live-seconds") || "15", 10);
  var refresh = function () {
    // Never replace the list while someone is using a button or field in it.
    if (box.contains(document.activeElement) && document.activeElement !== document.body) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again next time */ });
  };
  setInterval(refresh, Math.max(5, seconds) * 1000);
})();
