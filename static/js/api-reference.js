// Draws the API reference from the OpenAPI document (the page holds no inline script: CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("api-reference");
  window.SwaggerUIBundle({
    url: target.dataset.specUrl,
    domNode: target,
    deepLinking: false,
    // The reference is read, and tried with a token pasted into Authorize; nothing else is
    // fetched (no validator badge from swagger.io).
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
    defaultModelsExpandDepth: 0,
  });
});
