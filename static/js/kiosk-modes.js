/* kiosk-modes.js: applies the current visitor's display modes (larger text, high contrast,
   within reach) before the screen is drawn, so it never flashes in the default look. The modes
   live in this tab's sessionStorage; kiosk.js sets them and clears them at every reset. */
(function () {
  "use strict";
  try {
    var modes = JSON.parse(window.sessionStorage.getItem("kiosk-display-modes") || "[]");
    ["larger-text", "high-contrast", "reachable"].forEach(function (mode) {
      if (modes.indexOf(mode) >= 0) { document.documentElement.classList.add(mode); }
    });
  } catch (e) { /* no storage: the default look */ }
})();
