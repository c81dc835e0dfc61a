// Small behaviours for the admin UI. No inline scripts anywhere: this file is all there is.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Copy buttons: data-copy="#selector" copies that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  // The menu button (narrow screens): opens and closes the sidebar.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#menu-button");
    if (!button) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.querySelector(".shell").classList.toggle("menu-open", open);
  });

  // Live Delivery Log rows: when a row's status changes, screen readers hear it once (the rows
  // themselves are re-drawn every 2 s, which would be noise in a live region).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var old = event.detail.target;
    if (!old || !old.classList || !old.classList.contains("delivery-row")) return;
    var holder = document.createElement("tbody");
    holder.innerHTML = event.detail.serverResponse;
    var row = holder.querySelector("tr.delivery-row");
    if (!row || row.className === old.className) return;
    var status = row.querySelector(".badge");
    var announcer = document.getElementById("announcer");
    if (status && announcer) {
      announcer.textContent = "Delivery " + row.id.replace("row-", "") + ": " + status.textContent.trim();
    }
  });

  // Select-all checkboxes: data-select-all="name" ticks every checkbox with that name.
  function syncSelectAll(form) {
    form.querySelectorAll("[data-select-all]").forEach(function (all) {
      var boxes = form.querySelectorAll('input[type="checkbox"][name="' + all.getAttribute("data-select-all") + '"]');
      var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      all.checked = ticked === boxes.length && boxes.length > 0;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.form;
    if (!form) return;
    if (target.hasAttribute("data-select-all")) {
      form.querySelectorAll('input[type="checkbox"][name="' + target.getAttribute("data-select-all") + '"]')
        .forEach(function (b) { b.checked = target.checked; });
    }
    syncSelectAll(form);
  });

  // The Delivery Log's filters fold behind "Filters" on a narrow screen, unless some are set.
  var narrow = window.matchMedia("(max-width: 800px)");
  function foldFilters() {
    document.querySelectorAll("details.filters-disclosure").forEach(function (d) {
      d.open = !narrow.matches || d.getAttribute("data-keep-open") === "true";
    });
  }
  narrow.addEventListener("change", foldFilters);

  // Custom header rows: Add header and Remove (without JS, the blank last row adds one per save
  // and clearing a name removes it).
  var MAX_HEADERS = 20;
  function numberHeaderRows(list) {
    var rows = list.querySelectorAll(".header-row");
    rows.forEach(function (row, i) {
      var n = i + 1;
      row.querySelector('[name="header_name"]').setAttribute("aria-label", "Header " + n + " name");
      row.querySelector('[name="header_value"]').setAttribute("aria-label", "Header " + n + " value");
      row.querySelector(".remove-header").setAttribute("aria-label", "Remove header " + n);
    });
    var add = document.getElementById("add-header");
    if (add) add.disabled = rows.length >= MAX_HEADERS;
  }
  document.addEventListener("click", function (event) {
    var list = document.getElementById("header-rows");
    if (!list) return;
    if (event.target.closest("#add-header")) {
      var rows = list.querySelectorAll(".header-row");
      if (rows.length >= MAX_HEADERS) return;
      var row = rows[rows.length - 1].cloneNode(true);
      row.querySelectorAll("input").forEach(function (input) {
        input.value = "";
        input.placeholder = input.name === "header_name" ? "X-Api-Key" : "";
      });
      list.appendChild(row);
      numberHeaderRows(list);
      row.querySelector("input").focus();
      return;
    }
    var remove = event.target.closest(".remove-header");
    if (!remove) return;
    var current = remove.closest(".header-row");
    if (list.querySelectorAll(".header-row").length > 1) {
      var next = current.nextElementSibling || current.previousElementSibling;
      current.remove();
      numberHeaderRows(list);
      next.querySelector("input").focus();
    } else {
      current.querySelectorAll("input").forEach(function (input) { input.value = ""; input.placeholder = ""; });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(syncSelectAll);
    foldFilters();
    document.querySelectorAll("#add-header, .remove-header").forEach(function (b) { b.hidden = false; });
    var list = document.getElementById("header-rows");
    if (list) numberHeaderRows(list);
  });
})();
