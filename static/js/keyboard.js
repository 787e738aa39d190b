/* keyboard.js: the kiosk's own on-screen keyboard, for touchscreens that have none (Chromium on
   a Linux touchscreen opens no keyboard of its own). simple-keyboard (static/vendor/) draws the
   keys; this file holds the layouts and types into the field: it changes the field's value the
   way typing does and fires the same `input` events, so kiosk.js (host search) cannot tell the
   difference. The page has it only when the kiosk device's keyboard setting is on; a hardware
   keyboard and a barcode scanner keep working, and the keyboard opens when a field is tapped,
   not for a field the page focuses, except a field marked data-osk-open: a code screen's one
   field (check-out, invitation), whose keys would otherwise be one tap away that a visitor with
   no scanner did not know of (a touchscreen review); a scanner types into it all the same,
   and the screen's lower half, where the keys go, is empty. A screen without a
   text field loads nothing more; one with fields loads the library and its styles after the
   page has painted. Nothing typed is stored by this script. */
(function () {
  "use strict";
  var root = document.getElementById("osk");
  if (!root) { return; }

  /* Letter layouts, each in its national order: "shift" is the same keys shifted. */
  var NORDIC_SHIFT_DIGITS = "! \" # ¤ % & / ( ) = ? {bksp}";
  var LETTERS = {
    sv: {
      "default": ["1 2 3 4 5 6 7 8 9 0 + {bksp}", "q w e r t y u i o p å", "a s d f g h j k l ö ä '",
        "{shift} z x c v b n m , . - {enter}"],
      shift: [NORDIC_SHIFT_DIGITS, "Q W E R T Y U I O P Å", "A S D F G H J K L Ö Ä *",
        "{shift} Z X C V B N M ; : _ {enter}"]
    },
    nb: {
      "default": ["1 2 3 4 5 6 7 8 9 0 + {bksp}", "q w e r t y u i o p å", "a s d f g h j k l ø æ '",
        "{shift} z x c v b n m , . - {enter}"],
      shift: [NORDIC_SHIFT_DIGITS, "Q W E R T Y U I O P Å", "A S D F G H J K L Ø Æ *",
        "{shift} Z X C V B N M ; : _ {enter}"]
    },
    da: {
      "default": ["1 2 3 4 5 6 7 8 9 0 + {bksp}", "q w e r t y u i o p å", "a s d f g h j k l æ ø '",
        "{shift} z x c v b n m , . - {enter}"],
      shift: [NORDIC_SHIFT_DIGITS, "Q W E R T Y U I O P Å", "A S D F G H J K L Æ Ø *",
        "{shift} Z X C V B N M ; : _ {enter}"]
    },
    de: {
      "default": ["1 2 3 4 5 6 7 8 9 0 ß {bksp}", "q w e r t z u i o p ü +", "a s d f g h j k l ö ä #",
        "{shift} y x c v b n m , . - {enter}"],
      shift: ["! \" § $ % & / ( ) = ? {bksp}", "Q W E R T Z U I O P Ü *", "A S D F G H J K L Ö Ä '",
        "{shift} Y X C V B N M ; : _ {enter}"]
    },
    en: {
      "default": ["1 2 3 4 5 6 7 8 9 0 - {bksp}", "q w e r t y u i o p", "a s d f g h j k l '",
        "{shift} z x c v b n m , . / {enter}"],
      shift: ["! @ # $ % & * ( ) _ + {bksp}", "Q W E R T Y U I O P", "A S D F G H J K L \"",
        "{shift} Z X C V B N M ; : ? {enter}"]
    }
  };
  LETTERS.fi = LETTERS.sv;  // Finland types on the Swedish layout.
  /* The order the layout key goes through, starting from the visitor's language. */
  var ORDER = ["sv", "fi", "nb", "da", "de", "en"];
  var BOTTOM = "{lang} {accents} {space} {hide}";
  /* Other Latin letters, behind the accent key. */
  var ACCENTS = ["á à â ä ã å æ ā ą ć č ç", "é è ê ë ė ę ē ě í ì î ï", "ó ò ô ö õ ø ő œ ñ ń ň {bksp}",
    "ú ù û ü ű ů ý ÿ ł ś š ş", "{shift} ß ž ź ż ř ď ť ð þ ğ {enter}"];
  /* A long press on a letter offers its other Latin forms, as large keys above it. */
  var VARIANTS = {
    a: "á à â ä ã å æ ā ą", c: "ç ć č", d: "ď ð", e: "é è ê ë ė ę ē ě", g: "ğ", i: "í ì î ï ī į",
    l: "ł ľ ĺ", n: "ñ ń ň", o: "ó ò ô ö õ ø ő œ", r: "ř ŕ", s: "ś š ş ß", t: "ť þ",
    u: "ú ù û ü ű ů ū ų", y: "ý ÿ", z: "ž ź ż"
  };
  var LONG_PRESS_MS = 450;
  /* Email: plain letters, @, the site's own domains (from the page: its hosts' addresses)
     and then the domains people type most, per language. */
  var DOMAINS = {
    sv: "gmail.com outlook.com hotmail.com .se", fi: "gmail.com outlook.com hotmail.com .fi",
    nb: "gmail.com outlook.com hotmail.com .no", da: "gmail.com outlook.com hotmail.com .dk",
    de: "gmail.com gmx.de web.de outlook.com .de", en: "gmail.com outlook.com hotmail.com .co.uk"
  };
  var TEL = ["1 2 3", "4 5 6", "7 8 9", "+ 0 {bksp}", "( ) - {space}", "{hide} {enter}"];
  var DISPLAY = {
    "{bksp}": "⌫", "{shift}": "⇧", "{enter}": "⏎", "{space}": "&nbsp;", "{accents}": "áé",
    "{abc}": "ABC", "{hide}": "⌨<span class=\"osk-down\">⌄</span>"
  };

  /* At most five domain keys in the row: the site's first, then the common ones, then the
     country's ending. */
  var DOMAIN_KEYS = 5;
  var siteDomains = (root.getAttribute("data-domains") || "").split(" ").filter(Boolean);
  function domainRow() {
    var common = DOMAINS[code].split(" ");
    var ending = common.pop();
    var names = siteDomains.concat(common.filter(function (name) { return siteDomains.indexOf(name) < 0; }));
    return names.slice(0, DOMAIN_KEYS - 1).concat([ending]).join(" ");
  }

  var labels = {};
  try { labels = JSON.parse(root.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
  var html = document.documentElement;
  var locale = (html.getAttribute("lang") || "en").slice(0, 2);
  var code = LETTERS[locale] ? locale : "en";
  var field = null;     // the field the keys type into
  var mode = "text";    // text, email or tel
  var accents = false;  // showing the accent keys
  var shifted = false;  // shift is pressed: the next key is shifted
  var caps = false;     // capitals throughout (a code field), shift gives small letters
  var drawn = "";
  var hideTimer = null;
  var pointerDown = false;

  function isField(element) {
    if (!element || element.disabled || element.readOnly) { return false; }
    if (element.hasAttribute && element.hasAttribute("data-no-osk")) { return false; }
    if (element.tagName === "TEXTAREA") { return true; }
    return element.tagName === "INPUT" &&
      ["text", "search", "email", "tel", "url", ""].indexOf(element.getAttribute("type") || "") >= 0;
  }

  function kind(element) {
    var wanted = element.getAttribute("data-osk-inputmode") || element.getAttribute("type") || "";
    if (wanted === "tel") { return "tel"; }
    return wanted === "email" ? "email" : "text";
  }

  /* The platform's own keyboard stays closed: the field's original inputmode is kept aside. */
  function suppressPlatformKeyboard(element) {
    if (element.hasAttribute("data-osk-inputmode")) { return; }
    element.setAttribute("data-osk-inputmode", element.getAttribute("inputmode") || "");
    element.setAttribute("inputmode", "none");
  }
  var fields = Array.prototype.filter.call(document.querySelectorAll("input, textarea"), isField);
  if (!fields.length) { return; }
  fields.forEach(suppressPlatformKeyboard);

  function rows(name) {
    if (name === "caps") { return rows("default").map(upper); }
    if (mode === "tel") { return TEL; }
    if (mode === "email") {
      var letters = code === "de" ? ["q w e r t z u i o p", "a s d f g h j k l - _", "{shift} y x c v b n m . {enter}"]
        : ["q w e r t y u i o p", "a s d f g h j k l - _", "{shift} z x c v b n m . {enter}"];
      var email = [domainRow(), "1 2 3 4 5 6 7 8 9 0 {bksp}"].concat(letters, ["{hide} @ .com"]);
      return name === "shift" ? email.map(upper) : email;
    }
    var base = accents ? ACCENTS : LETTERS[code][name === "shift" ? "shift" : "default"];
    if (accents && name === "shift") { base = base.map(upper); }
    return base.concat([accents ? BOTTOM.replace("{accents}", "{abc}") : BOTTOM]);
  }

  /* A row with its letters as capitals; special keys, domains and ß stay as they are. */
  function upper(row) {
    return row.split(" ").map(function (key) {
      if (key.charAt(0) === "{" || key.length !== 1 || key === "ß") { return key; }
      var capital = key.toUpperCase();
      return capital.length === 1 ? capital : key;
    }).join(" ");
  }

  function display() {
    var shown = {};
    Object.keys(DISPLAY).forEach(function (key) { shown[key] = DISPLAY[key]; });
    shown["{lang}"] = code.toUpperCase();
    // A blank key among digits would puzzle; a wide space bar under letters does not.
    if (mode === "tel") { shown["{space}"] = "␣"; }
    return shown;
  }

  var keyboard = null;  // once the library has loaded
  var waiting = null;   // a field tapped before that

  function start() {
    var lib = window.SimpleKeyboard;
    var SimpleKeyboard = lib && (lib.default || lib.SimpleKeyboard || lib);
    if (typeof SimpleKeyboard !== "function") { return; }
    var holder = document.createElement("div");
    holder.className = "simple-keyboard";
    keyboard = new SimpleKeyboard(root.appendChild(holder), {
      layout: { "default": rows("default"), shift: rows("shift") },
      layoutName: "default",
      display: display(),
      mergeDisplay: false,
      theme: "hg-theme-default osk-keys",
      preventMouseDownDefault: true,
      disableButtonHold: true,
      disableCaretPositioning: true,
      onKeyPress: press,
      // simple-keyboard keeps its own copy of what it types; the field is the only copy kept.
      onChange: function () { keyboard.clearInput(); },
      onRender: describeKeys
    });
    if (waiting) { open(waiting); waiting = null; }
  }

  /* The styles and the library, from this server (the CSP allows nothing else). The keys
     start once all have loaded: a field opened with the screen (data-osk-open) was scrolled
     for keys drawn without their styles, a column of buttons thousands of pixels tall, and
     stayed scrolled off the screen when the styles came. */
  var loading = 1;  // the library, and each stylesheet counted below
  function loaded() {
    loading -= 1;
    if (loading === 0) { start(); }
  }
  (root.getAttribute("data-styles") || "").split(" ").forEach(function (href) {
    if (!href) { return; }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    loading += 1;
    link.addEventListener("load", loaded);
    link.addEventListener("error", loaded);
    document.head.appendChild(link);
  });
  var script = document.createElement("script");
  script.src = root.getAttribute("data-library");
  script.addEventListener("load", loaded);
  document.head.appendChild(script);

  /* Keys are named for screen readers (touch exploration) in the visitor's language. */
  function describeKeys() {
    Array.prototype.forEach.call(root.querySelectorAll(".hg-button"), function (button) {
      var key = button.getAttribute("data-skbtn");
      button.setAttribute("role", "button");
      var name = key.charAt(0) === "{" ? labels[key.slice(1, -1)] : null;
      if (name) { button.setAttribute("aria-label", name); }
      var on = layoutName() !== "default";
      if (key === "{shift}") { button.setAttribute("aria-pressed", on ? "true" : "false"); }
      button.classList.toggle("osk-special", key.charAt(0) === "{" || key.length > 2);
      button.classList.toggle("osk-on", key === "{shift}" && on);
    });
  }

  function layoutName() {
    if (caps) { return shifted ? "default" : "caps"; }
    return shifted ? "shift" : "default";
  }

  function redraw() {
    if (!keyboard) { return; }
    if (variants && !variants.isConnected) { variants = null; }
    var state = [mode, code, accents, layoutName()].join(" ");
    if (state === drawn) { return; }
    drawn = state;
    keyboard.setOptions({
      layout: { "default": rows("default"), shift: rows("shift"), caps: rows("caps") },
      layoutName: layoutName(),
      display: display(),
      theme: "hg-theme-default osk-keys osk-" + mode
    });
  }

  /* Fields that capitalise words (names) start each word with a capital. */
  function autoShift() {
    if (!field || mode !== "text") { return; }
    var style = (field.getAttribute("autocapitalize") || "").toLowerCase();
    var before = field.value.slice(0, caret()[0]);
    caps = style === "characters";
    if (caps) {
      shifted = false;
    } else if (style === "words") {
      shifted = before === "" || /[\s-]$/.test(before);
    } else if (style === "sentences") {
      shifted = before.trim() === "" || /[.!?]\s+$/.test(before);
    }
  }

  /* Where the text goes: the selection, or the end where the field has none (type=email). */
  function caret() {
    try {
      if (typeof field.selectionStart === "number") { return [field.selectionStart, field.selectionEnd]; }
    } catch (e) { /* a type without a selection */ }
    return [field.value.length, field.value.length];
  }

  function edit(text, start, end, inputType) {
    var value = field.value;
    var limit = field.maxLength > 0 ? field.maxLength - (value.length - (end - start)) : Infinity;
    if (text.length > limit) { text = text.slice(0, Math.max(0, limit)); }
    if (!text && start === end) { return; }
    field.value = value.slice(0, start) + text + value.slice(end);
    try {
      if (typeof field.selectionStart === "number") { field.setSelectionRange(start + text.length, start + text.length); }
    } catch (e) { /* no selection on this type */ }
    // A value set from script leaves the field scrolled where it was: typing at the end of
    // a name longer than the field went on out of sight.
    if (start + text.length >= field.value.length) { field.scrollLeft = field.scrollWidth; }
    field.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: inputType, data: text || null }));
  }

  function type(text) {
    var at = caret();
    edit(text, at[0], at[1], "insertText");
  }

  function backspace() {
    var at = caret();
    if (at[0] === at[1]) {
      if (at[0] === 0) { return; }
      var unit = field.value.charCodeAt(at[0] - 1);
      at[0] -= unit >= 0xdc00 && unit <= 0xdfff && at[0] > 1 ? 2 : 1;
    }
    edit("", at[0], at[1], "deleteContentBackward");
  }

  /* A domain key adds "@" first unless the address has one. */
  function domain(key) {
    var before = field.value.slice(0, caret()[0]);
    type(key.charAt(0) === "." || before.indexOf("@") >= 0 ? key : "@" + key);
  }

  /* Enter: a page script may take it (keydown); else the next field, else submit the form. */
  function enter() {
    var event = new KeyboardEvent("keydown", { key: "Enter", code: "Enter", bubbles: true, cancelable: true });
    if (!field.dispatchEvent(event)) { return; }
    var form = field.form;
    if (!form) { hide(); return; }
    var fields = Array.prototype.filter.call(form.elements, function (element) {
      return isField(element) && element.getClientRects().length > 0;
    });
    var next = fields[fields.indexOf(field) + 1];
    if (next) { next.focus(); open(next); return; }
    var submit = Array.prototype.filter.call(form.querySelectorAll("[type=submit]"), function (button) {
      return !button.disabled && button.getClientRects().length > 0;
    })[0];
    hide();
    if (form.requestSubmit) { form.requestSubmit(submit); } else { form.submit(); }
  }

  function press(key) {
    if (!field) { return; }
    if (document.activeElement !== field) { field.focus({ preventScroll: true }); }
    switch (key) {
      case "{shift}": shifted = !shifted; redraw(); return;
      case "{accents}": accents = true; redraw(); return;
      case "{abc}": accents = false; redraw(); return;
      case "{lang}": code = ORDER[(ORDER.indexOf(code) + 1) % ORDER.length]; accents = false; redraw(); return;
      case "{hide}": hide(); return;
      case "{enter}": enter(); return;
      case "{bksp}": backspace(); break;
      case "{space}": type(" "); break;
      default:
        if (mode === "email" && key.length > 2 && key !== ".com") { domain(key); } else { type(key); }
    }
    afterTyping(key !== "{bksp}" && key !== "{space}");
  }

  function afterTyping(letter) {
    if (letter) {
      // An accent is one letter: back to the letters after it.
      accents = false;
      shifted = false;
    }
    autoShift();
    redraw();
    keepVisible();
  }

  /* Long press: the letter is typed the moment the key is touched (as every key is); held,
     the key opens its variants, and the one tapped takes the typed letter's place. A tap
     anywhere else closes them and the letter stays. */
  var pressTimer = null;
  var variants = null;  // the open variants' panel
  function variantsOf(key) {
    if (mode !== "text" || accents || !key || key.length !== 1) { return null; }
    var lower = key.toLowerCase();
    var list = VARIANTS[lower];
    if (!list) { return null; }
    return list.split(" ").map(function (letter) {
      if (key === lower || letter === "ß") { return letter; }
      var capital = letter.toUpperCase();
      return capital.length === 1 ? capital : letter;
    });
  }

  function closeVariants() {
    clearTimeout(pressTimer);
    pressTimer = null;
    if (variants) { variants.remove(); variants = null; }
  }

  function openVariants(key, letters, keyBox) {
    closeVariants();
    var panel = document.createElement("div");
    panel.className = "osk-variants";
    panel.setAttribute("role", "group");
    panel.setAttribute("aria-label", labels.variants || key);
    letters.forEach(function (letter) {
      var choice = document.createElement("div");
      choice.className = "osk-variant";
      choice.setAttribute("role", "button");
      choice.setAttribute("data-letter", letter);
      choice.textContent = letter;
      choice.addEventListener("click", function (event) {
        event.preventDefault();
        chooseVariant(key, letter);
      });
      panel.appendChild(choice);
    });
    root.appendChild(panel);
    variants = panel;
    // Above the key, centred on it, inside the screen.
    var area = root.getBoundingClientRect();
    var box = panel.getBoundingClientRect();
    var left = keyBox.left + keyBox.width / 2 - box.width / 2 - area.left;
    left = Math.max(4, Math.min(left, area.width - box.width - 4));
    panel.style.left = Math.round(left) + "px";
    panel.style.top = Math.round(keyBox.top - area.top - box.height - 12) + "px";
  }

  function chooseVariant(key, letter) {
    closeVariants();
    if (!field) { return; }
    if (document.activeElement !== field) { field.focus({ preventScroll: true }); }
    var at = caret();
    if (at[0] === at[1] && at[0] > 0 && field.value.charAt(at[0] - 1) === key) {
      edit(letter, at[0] - 1, at[0], "insertReplacementText");
    } else {
      type(letter);
    }
    afterTyping(true);
  }

  root.addEventListener("pointerdown", function (event) {
    if (variants && variants.contains(event.target)) { return; }
    closeVariants();
    var button = event.target.closest ? event.target.closest(".hg-button") : null;
    var key = button && button.getAttribute("data-skbtn");
    var letters = variantsOf(key);
    if (!letters) { return; }
    var keyBox = button.getBoundingClientRect();
    var startX = event.clientX;
    var startY = event.clientY;
    var pointer = event.pointerId;
    var cancel = function (lifted) {
      if (lifted.pointerId !== pointer) { return; }
      clearTimeout(pressTimer);
      document.removeEventListener("pointerup", cancel, true);
      document.removeEventListener("pointercancel", cancel, true);
    };
    document.addEventListener("pointerup", cancel, true);
    document.addEventListener("pointercancel", cancel, true);
    pressTimer = setTimeout(function () {
      document.removeEventListener("pointerup", cancel, true);
      document.removeEventListener("pointercancel", cancel, true);
      if (field && !root.hidden) { openVariants(key, letters, keyBox); }
    }, LONG_PRESS_MS);
    // A finger sliding off the key is not holding it.
    var moved = function (move) {
      if (move.pointerId !== pointer) { return; }
      if (Math.abs(move.clientX - startX) > 24 || Math.abs(move.clientY - startY) > 24) {
        cancel(move);
        document.removeEventListener("pointermove", moved, true);
      }
    };
    document.addEventListener("pointermove", moved, true);
    setTimeout(function () { document.removeEventListener("pointermove", moved, true); }, LONG_PRESS_MS + 50);
  }, true);
  // A held key is not a request for the page's context menu.
  root.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  // A tap outside the keyboard closes the variants too.
  document.addEventListener("pointerdown", function (event) {
    if (variants && !root.contains(event.target)) { closeVariants(); }
  }, true);

  /* Space for the keyboard below the page, and the field scrolled above the keyboard (with
     its label and, for the host search, its list of matches). */
  function keepVisible() {
    if (!field || root.hidden) { return; }
    var keys = root.getBoundingClientRect();
    html.style.setProperty("--osk-height", Math.ceil(keys.height) + "px");
    var margin = 16;
    var limit = keys.top - margin;
    var box = field.getBoundingClientRect();
    var top = box.top;
    var bottom = box.bottom;
    if (field.labels && field.labels.length) { top = Math.min(top, field.labels[0].getBoundingClientRect().top); }
    var list = field.getAttribute("aria-controls") && document.getElementById(field.getAttribute("aria-controls"));
    if (list && !list.hidden) { bottom = Math.max(bottom, list.getBoundingClientRect().bottom); }
    var delta = 0;
    if (bottom > limit) {
      // Everything if it fits; never the field itself under the keys or its label off the top.
      delta = Math.max(box.bottom - limit, Math.min(bottom - limit, top - margin));
    } else if (top < margin) {
      delta = top - margin;
    }
    if (delta) { window.scrollBy(0, delta); }
  }

  var watcher = new MutationObserver(function () { keepVisible(); });

  function open(element) {
    if (!keyboard) { waiting = element; return; }
    clearTimeout(hideTimer);
    var changed = field !== element;
    field = element;
    if (changed) {
      mode = kind(element);
      accents = false;
      shifted = false;
      watcher.disconnect();
      var list = element.getAttribute("aria-controls") && document.getElementById(element.getAttribute("aria-controls"));
      if (list) { watcher.observe(list, { childList: true, attributes: true, attributeFilter: ["hidden"] }); }
    }
    autoShift();
    redraw();
    root.hidden = false;
    html.classList.add("osk-open");
    keepVisible();
  }

  function hide() {
    closeVariants();
    waiting = null;
    clearTimeout(hideTimer);
    root.hidden = true;
    html.classList.remove("osk-open");
    watcher.disconnect();
    field = null;
  }

  /* Closing waits for the finger to lift, so the page does not move under a tap in progress. */
  function hideSoon(tries) {
    tries = tries || 0;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () {
      // A lost pointerup must not keep the keyboard open: at most two seconds of waiting.
      if (pointerDown && tries < 40) { hideSoon(tries + 1); } else if (!isField(document.activeElement)) { hide(); }
    }, 50);
  }

  // Taps on the keys never take the focus from the field.
  root.addEventListener("mousedown", function (event) { event.preventDefault(); });
  // A key acts on pointerdown and may redraw the keyboard with fewer rows (the accents give
  // way to the letters): the click the browser sends when the finger lifts then lands on
  // whatever is under it now, such as a language button behind the keys. A click that ends a
  // tap begun on the keys is that tap's, never a tap of its own: it is dropped (a click a key
  // sends on purpose, such as Enter moving the guided check-in on, is not the finger's).
  var tapOnKeysAt = 0;
  function tapBegins(event) { tapOnKeysAt = root.contains(event.target) ? Date.now() : 0; }
  document.addEventListener("pointerdown", tapBegins, true);
  document.addEventListener("touchstart", tapBegins, { capture: true, passive: true });
  document.addEventListener("click", function (event) {
    if (event.isTrusted && tapOnKeysAt && Date.now() - tapOnKeysAt < 1500 && !root.contains(event.target)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    tapOnKeysAt = 0;
  }, true);
  document.addEventListener("pointerdown", function () { pointerDown = true; }, true);
  document.addEventListener("pointerup", function () { pointerDown = false; }, true);
  document.addEventListener("pointercancel", function () { pointerDown = false; }, true);
  // A tap (or click) on a field opens the keyboard; keyboard focus alone (Tab, autofocus, a
  // scanner) does not: whoever uses those has keys already.
  document.addEventListener("click", function (event) {
    if (isField(event.target)) { open(event.target); }
  }, true);
  document.addEventListener("focusin", function (event) {
    if (isField(event.target)) {
      if (!root.hidden || event.target.hasAttribute("data-osk-open")) { open(event.target); }
    } else if (!root.contains(event.target)) {
      hideSoon();
    }
  });
  document.addEventListener("focusout", function (event) {
    if (event.target === field && !isField(event.relatedTarget) && !root.contains(event.relatedTarget)) { hideSoon(); }
  });
  window.addEventListener("resize", keepVisible);
  // Focused before this script ran (autofocus): no focusin comes for it.
  var focused = document.activeElement;
  if (isField(focused) && focused.hasAttribute("data-osk-open")) { open(focused); }
})();
