// The kiosk's signing screen: a signature drawn with a finger (signature_pad, vendored under
// static/vendor/signature_pad), sent as a PNG data URL in the form's hidden field. No inline
// script: this file is loaded by its own <script> under the strict CSP.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.querySelector("[data-signature-pad]");
  const input = document.querySelector("[data-signature-input]");
  const form = document.getElementById("sign-form");
  if (!canvas || !input || !form || typeof window.SignaturePad !== "function") return;
  const pad = new window.SignaturePad(canvas, {
    penColor: "#10131a",
    minWidth: 1.5,
    maxWidth: 4,
  });

  // The canvas's drawing buffer follows its size on screen (at most 2x, to bound the PNG).
  const fit = () => {
    const ratio = Math.min(Math.max(window.devicePixelRatio || 1, 1), 2);
    const data = pad.isEmpty() ? null : pad.toData();
    canvas.width = Math.round(canvas.offsetWidth * ratio);
    canvas.height = Math.round(canvas.offsetHeight * ratio);
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    if (data) pad.fromData(data);
  };
  fit();
  window.addEventListener("resize", fit);

  const clear = document.querySelector("[data-signature-clear]");
  if (clear) {
    clear.addEventListener("click", () => {
      pad.clear();
      input.value = "";
      canvas.classList.remove("signed");
    });
  }
  pad.addEventListener("endStroke", () => canvas.classList.add("signed"));

  form.addEventListener("submit", (event) => {
    // "I don't want to sign" sends nothing of the drawing.
    const submitter = event.submitter;
    if (submitter && submitter.name === "decline") {
      input.value = "";
      return;
    }
    input.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
  });
});
