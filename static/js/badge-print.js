// Prints the visitor's badge PDF on the kiosk's printer (Chromium started with
// --kiosk-printing prints without asking). Loaded by templates/registration/_badge_print.html.
//
// The page says "collect your badge at reception" until this script starts printing (without
// it nothing prints). When the PDF does not load or print() fails, the page says so again and
// the kiosk tells the server (POST, CSRF token only), so reception sees the failed print.
(function () {
  "use strict";
  var frame = document.querySelector("iframe[data-badge-print]");
  if (!frame) {
    return;
  }
  var root = document.documentElement;
  var section = frame.parentNode;
  var printing = section.querySelector(".badge-printing");
  var collect = section.querySelector(".badge-collect");
  var finished = false;

  function say(isPrinting) {
    if (printing) { printing.hidden = !isPrinting; }
    if (collect) { collect.hidden = isPrinting; }
  }

  function reportFailure() {
    say(false);
    root.setAttribute("data-badge-printed", "false");
    var url = frame.getAttribute("data-report-url");
    if (!url || !window.fetch) {
      return;
    }
    var body = new URLSearchParams();
    body.set("csrf_token", frame.getAttribute("data-csrf") || "");
    fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
      .then(function (response) { root.setAttribute("data-badge-reported", String(response.status)); })
      .catch(function () { /* the page still tells the visitor to ask reception */ });
  }

  function loadedPdf() {
    // Our own origin: a PDF, or an error page when the badge could not be fetched.
    try {
      var doc = frame.contentDocument;
      return Boolean(doc) && doc.contentType === "application/pdf";
    } catch (error) {
      return false;
    }
  }

  function printBadge() {
    if (finished) {
      return;
    }
    finished = true;
    window.clearTimeout(giveUp);
    if (!loadedPdf()) {
      reportFailure();
      return;
    }
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
      root.setAttribute("data-badge-printed", "true");
    } catch (error) {
      reportFailure();
    }
  }

  // A badge that has not loaded in time never will before the page returns to the start.
  var giveUp = window.setTimeout(function () {
    if (!finished) {
      finished = true;
      reportFailure();
    }
  }, Number(frame.getAttribute("data-badge-print-timeout") || 10000));

  frame.addEventListener("load", function () {
    // Chromium's PDF viewer needs a moment after "load" before it prints every page.
    window.setTimeout(printBadge, Number(frame.getAttribute("data-badge-print-delay") || 800));
  });
  say(true);
  frame.setAttribute("src", frame.getAttribute("data-src"));
})();
