/* kiosk.js: progressive enhancements for the kiosk screens. Everything works without it
   except the idle reset and camera scanning. No personal data is ever stored by this script. */
(function () {
  "use strict";
  var body = document.body;

  var ATTRACT_KEY = "kiosk-attract";
  var STEP_KEY = "kiosk-details-step";
  var storage = null;
  try { storage = window.sessionStorage; } catch (e) { storage = null; }
  /* The display modes live in a cookie the server reads (kiosk/registration/display.py), so
     the next screen is drawn in them from its first paint; the reset deletes it too. */
  var modesCookie = body.getAttribute("data-display-cookie");
  var saveModes = function (modes) {
    if (!modesCookie) { return; }
    document.cookie = modesCookie + "=" + modes.join(".") + "; Path=/; SameSite=Strict" +
      (modes.length ? "" : "; Max-Age=0") + (modesCookie.indexOf("__Host-") === 0 ? "; Secure" : "");
  };
  var forgetVisitor = function () { saveModes([]); };

  /* Idle reset: a screen left alone returns to the start and the server forgets the visitor;
     the start screen then shows its attract state until someone touches it. */
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var resetUrl = body.getAttribute("data-reset-url");
  var deadline = null;
  var onTick = null;
  var welcome = body.classList.contains("screen-welcome");
  var attracting = false;
  if (welcome && storage && storage.getItem(ATTRACT_KEY)) {
    storage.removeItem(ATTRACT_KEY);
    attracting = true;
    body.classList.add("attract");
  }
  /* A screen with no countdown of its own (the forms) asks "Are you still there?" for the
     last seconds before the reset, with a big button to stay: the reset came without warning
     and took what was typed (an outside review). */
  var WARN_SECONDS = Math.min(15, Math.floor(idleSeconds / 4));
  var warning = null;
  var warningTimer = null;
  var warningTick = null;
  var hideWarning = function () {
    if (warningTimer) { clearTimeout(warningTimer); warningTimer = null; }
    if (warningTick) { clearInterval(warningTick); warningTick = null; }
    if (warning) { warning.hidden = true; }
  };
  var showWarning = function () {
    if (!warning) {
      warning = document.createElement("div");
      warning.className = "idle-warning";
      warning.setAttribute("role", "alertdialog");
      warning.setAttribute("aria-modal", "true");
      warning.setAttribute("aria-labelledby", "idle-warning-question");
      var box = document.createElement("div");
      box.className = "idle-warning-box";
      var question = document.createElement("p");
      question.id = "idle-warning-question";
      question.className = "idle-warning-question";
      question.textContent = body.getAttribute("data-idle-question") || "";
      var left = document.createElement("p");
      left.className = "idle-warning-left";
      left.setAttribute("aria-live", "polite");
      var stay = document.createElement("button");
      stay.type = "button";
      stay.className = "button primary big";
      stay.textContent = body.getAttribute("data-idle-stay") || "OK";
      box.appendChild(question);
      box.appendChild(left);
      box.appendChild(stay);
      warning.appendChild(box);
      body.appendChild(warning);
    }
    var text = warning.querySelector(".idle-warning-left");
    var template = body.getAttribute("data-idle-countdown") || "{seconds}";
    var tick = function () {
      var seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      text.textContent = template.replace("{seconds}", String(seconds));
    };
    tick();
    warningTick = setInterval(tick, 1000);
    warning.hidden = false;
    warning.querySelector("button").focus();
  };
  if (idleSeconds > 0 && resetUrl) {
    var timer = null;
    var warns = !document.querySelector(".countdown") && !welcome && WARN_SECONDS >= 2;
    var arm = function () {
      if (attracting) {
        attracting = false;
        body.classList.remove("attract");
      }
      if (timer) { clearTimeout(timer); }
      hideWarning();
      deadline = Date.now() + idleSeconds * 1000;
      if (warns) { warningTimer = setTimeout(showWarning, (idleSeconds - WARN_SECONDS) * 1000); }
      if (onTick) { onTick(true); }
      timer = setTimeout(function () {
        forgetVisitor();
        if (storage) { storage.setItem(ATTRACT_KEY, "1"); }
        window.location.replace(resetUrl);
      }, idleSeconds * 1000);
    };
    ["pointerdown", "keydown", "input", "touchstart", "scroll"].forEach(function (name) {
      document.addEventListener(name, arm, { passive: true, capture: true });
    });
    // An attracting start screen waits for a touch: nothing to reset, nothing to reload.
    if (!attracting) { arm(); }
  }
  /* Every way back to the start (Done, Cancel, the site's name) ends the visitor's modes. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link && resetUrl && link.getAttribute("href") === resetUrl) { forgetVisitor(); }
  }, true);

  /* Display modes for the current visitor: larger text, high contrast, within reach. */
  var tools = document.querySelector(".display-tools");
  if (tools && modesCookie && navigator.cookieEnabled) {
    var root = document.documentElement;
    tools.hidden = false;
    Array.prototype.forEach.call(tools.querySelectorAll("[data-mode]"), function (button) {
      var mode = button.getAttribute("data-mode");
      button.setAttribute("aria-pressed", root.classList.contains(mode) ? "true" : "false");
      button.addEventListener("click", function () {
        var on = !root.classList.contains(mode);
        root.classList.toggle(mode, on);
        button.setAttribute("aria-pressed", on ? "true" : "false");
        var modes = [];
        Array.prototype.forEach.call(tools.querySelectorAll("[data-mode]"), function (other) {
          var name = other.getAttribute("data-mode");
          if (root.classList.contains(name)) { modes.push(name); }
        });
        saveModes(modes);
      });
    });
  }

  /* The countdown to the automatic return on the confirmation screens. */
  var countdown = document.querySelector(".countdown");
  if (countdown && deadline !== null) {
    var template = countdown.getAttribute("data-countdown-template") || "{seconds}";
    var shown = countdown.querySelector(".countdown-text");
    var live = countdown.querySelector(".countdown-live");
    countdown.hidden = false;
    onTick = function (restarted) {
      var seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      var text = template.replace("{seconds}", String(seconds));
      shown.textContent = "";
      var parts = template.split("{seconds}");
      shown.appendChild(document.createTextNode(parts[0]));
      var number = document.createElement("span");
      number.className = "countdown-seconds";
      number.textContent = String(seconds);
      shown.appendChild(number);
      shown.appendChild(document.createTextNode(parts.slice(1).join("")));
      // Announced when it starts or restarts and every five seconds, not every second.
      if (restarted === true || seconds % 5 === 0) { live.textContent = text; }
    };
    onTick(true);
    setInterval(onTick, 1000);
  }

  /* Coming "back" to a kiosk page from the browser's cache must not show old data. */
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });

  /* Host search as you type: names appear only after two characters, a few at a time. */
  var picker = document.querySelector(".host-picker");
  if (picker) {
    var input = picker.querySelector("input[name=host_query]");
    var hidden = picker.querySelector("input[name=host_id]");
    var list = picker.querySelector(".suggestions");
    var noMatch = picker.querySelector(".no-match");
    var ask = picker.querySelector("input[name=ask_reception]");
    var searchUrl = picker.getAttribute("data-search-url");
    var pending = null;
    var close = function () {
      list.hidden = true;
      list.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
      if (noMatch) { noMatch.hidden = true; }
    };
    var choose = function (host) {
      input.value = host.name;
      hidden.value = String(host.id);
      if (ask) { ask.checked = false; }
      close();
    };
    input.addEventListener("input", function () {
      hidden.value = "";
      var query = input.value.trim();
      if (pending) { clearTimeout(pending); }
      if (query.length < 2) { close(); return; }
      pending = setTimeout(function () {
        fetch(searchUrl + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { hosts: [] }; })
          .then(function (data) {
            if (input.value.trim() !== query) { return; }
            list.innerHTML = "";
            data.hosts.forEach(function (host) {
              var item = document.createElement("li");
              var button = document.createElement("button");
              button.type = "button";
              button.className = "suggestion";
              button.setAttribute("role", "option");
              button.textContent = host.name;
              button.addEventListener("click", function () { choose(host); });
              item.appendChild(button);
              list.appendChild(item);
            });
            list.hidden = data.hosts.length === 0;
            list.scrollTop = 0;
            input.setAttribute("aria-expanded", data.hosts.length ? "true" : "false");
            /* Said while typing, not three screens later when the form is sent. */
            if (noMatch) { noMatch.hidden = data.hosts.length !== 0; }
          })
          .catch(close);
      }, 150);
    });
    if (ask) {
      ask.addEventListener("change", function () {
        if (ask.checked) { input.value = ""; hidden.value = ""; close(); }
      });
    }
  }

  /* Check-in as a guided flow on portrait screens: one step a screen, a progress bar, Back on
     every step. The fields stay in the one form, so Back keeps what was typed and the server
     checks everything exactly as without JavaScript; its errors open the step they concern. */
  var checkIn = document.querySelector("form.check-in");
  var stepNodes = checkIn ? checkIn.querySelectorAll(".fields > .step") : [];
  /* An invitation's details are filled in: checked on one screen, not walked step by step. */
  if (checkIn && stepNodes.length > 1 && !checkIn.hasAttribute("data-review")) {
    var steps = Array.prototype.slice.call(stepNodes);
    var fields = checkIn.querySelector(".fields");
    var actions = checkIn.querySelector(".actions");
    var submit = actions.querySelector("[type=submit]:not(.with-others)");
    /* "I am with others" (a second way to send the form) joins Continue on the last step. */
    var alsoSubmit = actions.querySelector(".with-others");
    var portrait = window.matchMedia("(orientation: portrait)");
    var stepLabel = checkIn.getAttribute("data-step-label") || "{current} / {total}";
    /* The screens after the form count too (the notice, each document to accept): the last
       step of the form is not the last of the check-in. */
    var stepsAfter = parseInt(checkIn.getAttribute("data-steps-after") || "0", 10) || 0;
    var current = 0;
    /* Back from another language: the step the visitor was on (see leaveFor below). */
    var resumeAt = storage ? parseInt(storage.getItem(STEP_KEY) || "0", 10) : 0;
    if (storage) { storage.removeItem(STEP_KEY); }
    if (resumeAt > 0 && resumeAt < steps.length) { current = resumeAt; }
    for (var i = 0; i < steps.length; i++) {
      if (steps[i].querySelector(".has-error") || steps[i].querySelector("[aria-invalid=true]")) { current = i; break; }
    }

    var progress = document.createElement("div");
    progress.className = "progress";
    var progressText = document.createElement("p");
    progressText.className = "progress-label";
    progressText.setAttribute("aria-live", "polite");
    var bar = document.createElement("div");
    bar.className = "progress-bar";
    bar.setAttribute("aria-hidden", "true");
    var fill = document.createElement("span");
    bar.appendChild(fill);
    progress.appendChild(progressText);
    progress.appendChild(bar);
    checkIn.insertBefore(progress, fields);

    var nav = document.createElement("div");
    nav.className = "step-nav";
    var back = document.createElement("button");
    back.type = "button";
    back.className = "button big step-back";
    back.textContent = checkIn.getAttribute("data-back-label") || "Back";
    var next = document.createElement("button");
    next.type = "button";
    next.className = "button primary big step-next";
    next.textContent = checkIn.getAttribute("data-next-label") || "Next";
    nav.appendChild(back);
    nav.appendChild(next);
    checkIn.insertBefore(nav, actions);

    var inputOf = function (step) {
      return step.querySelector("input:not([type=hidden]):not([type=checkbox]):not([type=radio])");
    };
    var clearError = function (step) {
      var added = step.querySelector(".errors.client");
      if (!added) { return; }
      var input = inputOf(step);
      added.parentNode.classList.remove("has-error");
      added.parentNode.removeChild(added);
      if (input) {
        input.removeAttribute("aria-invalid");
        var described = (input.getAttribute("aria-describedby") || "").split(" ")
          .filter(function (id) { return id && id !== input.id + "-errors"; }).join(" ");
        if (described) { input.setAttribute("aria-describedby", described); } else { input.removeAttribute("aria-describedby"); }
      }
    };
    var showError = function (step, message) {
      clearError(step);
      var input = inputOf(step);
      var box = input ? input.closest(".field") : step;
      var list = document.createElement("ul");
      list.className = "errors client";
      list.id = (input ? input.id : "step") + "-errors";
      list.setAttribute("role", "alert");
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      box.classList.add("has-error");
      if (input && input.nextSibling) { box.insertBefore(list, input.nextSibling); } else { box.appendChild(list); }
      if (input) {
        input.setAttribute("aria-invalid", "true");
        var described = input.getAttribute("aria-describedby");
        input.setAttribute("aria-describedby", (list.id + " " + (described || "")).trim());
        input.focus();
      }
    };
    /* Only what the server would refuse for certain: a required step left empty. */
    var stepIsComplete = function (step) {
      /* A host nobody matches (said under the field as it was typed) is not taken on: the
         server refused it three screens later. */
      var nobody = step.querySelector(".no-match");
      var askReception = step.querySelector("input[name=ask_reception]");
      if (nobody && !nobody.hidden && !(askReception && askReception.checked)) {
        var typed = step.querySelector("input[name=host_query]");
        if (typed) { typed.focus(); }
        return false;
      }
      var message = step.getAttribute("data-required-message");
      if (!message) { return true; }
      if (step.hasAttribute("data-host-required")) {
        var hostId = step.querySelector("input[name=host_id]");
        var query = step.querySelector("input[name=host_query]");
        var ask = step.querySelector("input[name=ask_reception]");
        var radio = step.querySelector("input[name=host_id][type=radio]:checked");
        if ((hostId && hostId.value) || radio || (ask && ask.checked) || (query && query.value.trim())) { return true; }
      } else {
        var input = inputOf(step);
        if (!input || !input.required || input.value.trim()) { return true; }
      }
      showError(step, message);
      return false;
    };
    var show = function (index, focus) {
      current = Math.max(0, Math.min(index, steps.length - 1));
      checkIn.setAttribute("data-step", String(current));
      steps.forEach(function (step, n) { step.classList.toggle("current", n === current); });
      var total = steps.length + stepsAfter;
      progressText.textContent = stepLabel.replace("{current}", String(current + 1))
        .replace("{total}", String(total));
      fill.style.width = ((current + 1) * 100 / total) + "%";
      var last = current === steps.length - 1;
      next.hidden = last;
      if (last) {
        if (alsoSubmit) { nav.appendChild(alsoSubmit); }
        nav.appendChild(submit);
      } else if (submit.parentNode === nav) {
        if (alsoSubmit) { actions.appendChild(alsoSubmit); }
        actions.appendChild(submit);
      }
      if (focus) {
        var input = inputOf(steps[current]);
        if (input) { input.focus(); }
      }
    };
    var guided = false;
    var apply = function () {
      guided = portrait.matches;
      checkIn.classList.toggle("guided", guided);
      progress.hidden = !guided;
      nav.hidden = !guided;
      actions.hidden = guided;
      if (guided) {
        show(current, false);
      } else {
        steps.forEach(function (step) { step.classList.remove("current"); });
        if (alsoSubmit && alsoSubmit.parentNode === nav) { actions.appendChild(alsoSubmit); }
        if (submit.parentNode === nav) { actions.appendChild(submit); }
      }
    };
    next.addEventListener("click", function () {
      if (stepIsComplete(steps[current])) { show(current + 1, true); }
    });
    back.addEventListener("click", function () {
      if (current === 0) {
        var cancel = actions.querySelector("a.button");
        var target = cancel ? cancel.getAttribute("href") : resetUrl;
        /* Back from a companion's form returns to the group: the same visitor goes on. Back
           from a visitor's first step goes one screen back in their language (the kind of
           visit, else the start), not to the reset, which forgot the language as well. */
        var changeType = document.querySelector(".chosen-type a");
        if (target === resetUrl && changeType) {
          changeType.click();  /* keeps what was typed (below) */
          return;
        }
        if (target === resetUrl) { target = checkIn.getAttribute("data-start-url") || resetUrl; }
        if (target === resetUrl) { forgetVisitor(); }
        window.location.href = target;
        return;
      }
      show(current - 1, true);
    });
    checkIn.addEventListener("submit", function (event) {
      if (!guided) { return; }
      for (var n = 0; n < steps.length; n++) {
        if (!stepIsComplete(steps[n])) {
          event.preventDefault();
          show(n, true);
          return;
        }
      }
    });
    /* Enter moves on one step (a hardware keyboard); on the last step it sends the form. */
    checkIn.addEventListener("keydown", function (event) {
      if (!guided || event.key !== "Enter" || event.target.tagName !== "INPUT") { return; }
      if (event.target.type === "checkbox" || event.target.type === "radio") { return; }
      if (current < steps.length - 1) {
        event.preventDefault();
        next.click();
      }
    });
    checkIn.addEventListener("input", function (event) {
      var step = event.target.closest ? event.target.closest(".step") : null;
      if (step) { clearError(step); }
    });
    if (portrait.addEventListener) { portrait.addEventListener("change", apply); }
    apply();
    if (guided && checkIn.querySelector(".has-error")) {
      var invalid = inputOf(steps[current]);
      if (invalid) { invalid.focus(); }
    }
  }

  /* A code that was not found stays in its field, selected: whoever typed it sees what to
     correct (a tap puts the caret in it), and the next code, scanned or typed, replaces it
     whole. Emptied instead, a typed code was lost at every mistake. */
  var wrongCode = document.querySelector("form.scan-form input[aria-invalid=true]");
  if (wrongCode && wrongCode.value) {
    wrongCode.focus();
    wrongCode.select();
  }

  /* Camera scanning where the browser has the BarcodeDetector API. */
  var camera = document.querySelector(".camera");
  if (camera && "BarcodeDetector" in window && navigator.mediaDevices) {
    camera.hidden = false;
    var start = camera.querySelector(".camera-start");
    var video = camera.querySelector(".camera-view");
    var form = camera.closest("form");
    var field = form.querySelector("input[name=code]");
    start.addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
        .then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          start.hidden = true;
          return video.play().then(function () {
            var look = function () {
              detector.detect(video).then(function (codes) {
                if (codes.length) {
                  stream.getTracks().forEach(function (track) { track.stop(); });
                  field.value = codes[0].rawValue;
                  form.submit();
                } else {
                  window.requestAnimationFrame(look);
                }
              }).catch(function () { window.requestAnimationFrame(look); });
            };
            look();
          });
        })
        .catch(function () { camera.hidden = true; });
    });
  }
  /* Leaving the details for the kind of visit ("Change") or for another language keeps what
     was typed: the form goes to the server with where to go instead of a plain link or the
     language form, which lost it all (an outside review). */
  var detailsForm = document.querySelector("form.check-in[data-keeps-typed]");
  if (detailsForm) {
    var leaveFor = function (where, locale) {
      [["leave", where], ["locale", locale]].forEach(function (pair) {
        if (!pair[1]) { return; }
        var hiddenInput = document.createElement("input");
        hiddenInput.type = "hidden";
        hiddenInput.name = pair[0];
        hiddenInput.value = pair[1];
        detailsForm.appendChild(hiddenInput);
      });
      if (storage && where === "language") { storage.setItem(STEP_KEY, detailsForm.getAttribute("data-step") || "0"); }
      /* The form has a field named "submit": the method from the prototype, and no checks. */
      HTMLFormElement.prototype.submit.call(detailsForm);
    };
    var changeLink = document.querySelector(".chosen-type a");
    if (changeLink) {
      changeLink.addEventListener("click", function (event) {
        event.preventDefault();
        leaveFor("type");
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll("form.language-picker"), function (picker) {
      picker.addEventListener("submit", function (event) {
        var chosen = event.submitter;
        if (!chosen || chosen.name !== "locale" || !chosen.value) { return; }
        event.preventDefault();
        leaveFor("language", chosen.value);
      });
    });
  }

  /* The full notice opens below its button, at the bottom of the scrolling panel: bring its
     start into view, or the tap seemed to do nothing (an outside review). */
  Array.prototype.forEach.call(document.querySelectorAll("details.full-notice"), function (full) {
    full.addEventListener("toggle", function () {
      if (!full.open) { return; }
      var panel = full.closest(".notice");
      var summary = full.querySelector("summary");
      if (panel && summary) {
        panel.scrollTop += summary.getBoundingClientRect().top - panel.getBoundingClientRect().top;
      }
    });
  });
})();
