// Prints the visitor's badge PDF on the kiosk's printer (Chromium started with
// --kiosk-printing prints without asking). Loaded by templates/badges/_confirmation.html.
(function () {
  "use strict";
  var frame = document.querySelector("iframe[data-badge-print]");
  if (!frame) {
    return;
  }
  var printed = false;
  function printBadge() {
    if (printed) {
      return;
    }
    printed = true;
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
      document.documentElement.setAttribute("data-badge-printed", "true");
    } catch (error) {
      // A frame that cannot print leaves the message on screen; reception can reprint.
      document.documentElement.setAttribute("data-badge-printed", "false");
    }
  }
  frame.addEventListener("load", function () {
    // Chromium's PDF viewer needs a moment after "load" before it prints every page.
    window.setTimeout(printBadge, Number(frame.getAttribute("data-badge-print-delay") || 800));
  });
  frame.setAttribute("src", frame.getAttribute("data-src"));
})();
