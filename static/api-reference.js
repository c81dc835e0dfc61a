// Renders the OpenAPI document named by #api-reference's data-url with Swagger UI
// (static/vendor/swagger-ui). A file of its own, as the Content-Security-Policy allows no
// inline script.
(function () {
  "use strict";
  var root = document.getElementById("api-reference");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  // Swagger UI leaves some controls without an accessible name (a parameter's select or
  // text field, the body editor, the dialog's close button) and names its Authorize button
  // unlike its text: named here, as they appear.
  function name(el, label) {
    if (!el.hasAttribute("aria-label") && !el.hasAttribute("aria-labelledby") && !el.labels.length) {
      el.setAttribute("aria-label", label);
    }
  }
  function label(scope) {
    scope.querySelectorAll("tr[data-param-name]").forEach(function (row) {
      row.querySelectorAll("select, input, textarea").forEach(function (el) {
        name(el, row.getAttribute("data-param-name"));
      });
    });
    scope.querySelectorAll("textarea").forEach(function (el) {
      name(el, el.closest(".responses-wrapper") ? "Response" : "Request body");
    });
    scope.querySelectorAll("select").forEach(function (el) {
      name(el, "Media type");
    });
    scope.querySelectorAll("button.close-modal").forEach(function (el) {
      el.setAttribute("aria-label", "Close");
    });
    scope.querySelectorAll("button.authorize[aria-label]").forEach(function (el) {
      el.removeAttribute("aria-label");
    });
    // An example longer than its box scrolls: reachable with the keyboard, so it can be read.
    scope.querySelectorAll(".highlight-code .microlight:not([tabindex])").forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(function () {
    label(root);
  }).observe(root, { childList: true, subtree: true });

  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    // Deep links would put a link inside each operation's summary button (nested controls).
    deepLinking: false,
    // No badge from validator.swagger.io: nothing leaves this server.
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
})();
