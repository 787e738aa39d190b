/* kiosk.js: progressive enhancements for the kiosk screens. Everything works without it
   except the idle reset and camera scanning. No personal data is ever stored by this script. */
(function () {
  "use strict";
  var body = document.body;

  /* Idle reset: a screen left alone returns to the start and the server forgets the visitor. */
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var resetUrl = body.getAttribute("data-reset-url");
  if (idleSeconds > 0 && resetUrl) {
    var timer = null;
    var arm = function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { window.location.replace(resetUrl); }, idleSeconds * 1000);
    };
    ["pointerdown", "keydown", "input", "touchstart", "scroll"].forEach(function (name) {
      document.addEventListener(name, arm, { passive: true, capture: true });
    });
    arm();
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
    var ask = picker.querySelector("input[name=ask_reception]");
    var searchUrl = picker.getAttribute("data-search-url");
    var pending = null;
    var close = function () {
      list.hidden = true;
      list.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
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
            input.setAttribute("aria-expanded", data.hosts.length ? "true" : "false");
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
})();
