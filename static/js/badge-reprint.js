/* badge-reprint.js: "Reprint badge" on the dashboard without leaving the page.
 *
 * The form is sent in the background asking for JSON. When a print server prints the badge
 * the answer names the page to reload (which shows the printer's outcome); otherwise the
 * answer names the badge PDF, which is loaded into a hidden frame and printed from there,
 * so the dashboard stays in its tab. Without this script the form posts as usual and the
 * server offers the PDF in a new tab. Listens on the document, so it keeps working when
 * dashboard.js swaps the on-site list in. Its messages come translated on its script tag
 * (templates/dashboard/_reprint_script.html). */
(function () {
  "use strict";
  var script = document.currentScript;
  var messages = {
    title: script ? script.getAttribute("data-frame-title") || "" : "",
    dialog: script ? script.getAttribute("data-dialog-text") || "" : "",
    failed: script ? script.getAttribute("data-failed-text") || "" : ""
  };
  var frame = null;

  function status(state, text) {
    var box = document.getElementById("badge-reprint-status");
    if (!box) {
      box = document.createElement("p");
      box.id = "badge-reprint-status";
      box.className = "flash";
      box.setAttribute("role", "status");
      var main = document.getElementById("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
    box.setAttribute("data-state", state);
  }

  function printPdf(url) {
    if (frame) {
      frame.parentNode.removeChild(frame);
    }
    frame = document.createElement("iframe");
    frame.className = "badge-frame";
    frame.setAttribute("tabindex", "-1");
    frame.setAttribute("aria-hidden", "true");
    frame.title = messages.title;
    frame.addEventListener("load", function () {
      // Chromium's PDF viewer needs a moment after "load" before it prints every page.
      window.setTimeout(function () {
        var doc = null;
        try { doc = frame.contentDocument; } catch (error) { doc = null; }
        if (!doc || doc.contentType !== "application/pdf") {
          status("failed", messages.failed);
          return;
        }
        try {
          frame.contentWindow.focus();
          frame.contentWindow.print();
          status("dialog", messages.dialog);
        } catch (error) {
          status("failed", messages.failed);
        }
      }, 800);
    });
    frame.src = url;
    document.body.appendChild(frame);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || null;
    // A reprint form of its own (history, badge prints), or the on-site lists' one shared
    // form sent by a row's reprint button, whose formaction names the visit.
    var own = form.matches && form.matches("form[data-badge-reprint]");
    var shared = !own && button && button.matches && button.matches("[data-badge-reprint]");
    if (!(own || shared) || !window.fetch) {
      return;
    }
    event.preventDefault();
    var action = shared ? button.formAction : form.action;
    fetch(action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (answer) {
        if (answer.pdf) {
          printPdf(answer.pdf);
        } else if (answer.location) {
          window.location.assign(answer.location);
        }
      })
      .catch(function () {
        // Let the server answer the usual way (its own page, or an error page). submit()
        // ignores the button, so the shared form is pointed at the button's action first.
        form.action = action;
        form.submit();
      });
  });
})();
