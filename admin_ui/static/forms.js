/* Generated forms: small enhancements only; every page works without this file.
 * - live row/column totals in grids (the server computes the same totals on every render);
 * - an answer that shows or hides other fields (data-refresh) re-renders the page via the
 *   hidden __refresh__ button, keeping everything typed;
 * - a second click on a slow connection does not post the form twice.
 * Plain ES5, no build step. */
(function () {
  "use strict";

  function number(input) {
    var text = (input.value || "").replace(/[,，\s]/g, "");
    var value = parseFloat(text);
    return isFinite(value) ? value : 0;
  }

  function show(output, value) {
    if (output) { output.textContent = String(Math.round(value * 1e6) / 1e6); }
  }

  function updateGrid(table) {
    var inputs = table.querySelectorAll("input[data-row][data-col]");
    var rows = {}, cols = {}, all = 0, i, input;
    for (i = 0; i < inputs.length; i++) {
      input = inputs[i];
      var v = number(input);
      rows[input.getAttribute("data-row")] = (rows[input.getAttribute("data-row")] || 0) + v;
      cols[input.getAttribute("data-col")] = (cols[input.getAttribute("data-col")] || 0) + v;
      all += v;
    }
    var outputs = table.querySelectorAll("output[data-total-row]");
    for (i = 0; i < outputs.length; i++) { show(outputs[i], rows[outputs[i].getAttribute("data-total-row")] || 0); }
    outputs = table.querySelectorAll("output[data-total-col]");
    for (i = 0; i < outputs.length; i++) { show(outputs[i], cols[outputs[i].getAttribute("data-total-col")] || 0); }
    show(table.querySelector("output[data-total-all]"), all);
  }

  function init(form) {
    var grids = form.querySelectorAll("[data-gr-grid]");
    for (var i = 0; i < grids.length; i++) {
      (function (table) {
        table.addEventListener("input", function () { updateGrid(table); });
        updateGrid(table);
      })(grids[i]);
    }
    var refresh = form.querySelector("[data-gr-refresh]");
    form.addEventListener("change", function (event) {
      if (refresh && event.target && event.target.hasAttribute("data-refresh")) {
        refresh.click();
      }
    });
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
      form.setAttribute("data-sending", "1");
      window.setTimeout(function () { form.removeAttribute("data-sending"); }, 15000);
    });
    var summary = form.querySelector("#gr-summary");
    if (summary) { summary.focus(); }
  }

  function start() {
    var forms = document.querySelectorAll("[data-gr-form]");
    for (var i = 0; i < forms.length; i++) { init(forms[i]); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
