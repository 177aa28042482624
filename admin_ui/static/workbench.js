/* Definition workbench: small enhancements only; every page works without this file.
 * - after a save the page is reloaded at the edited field (#f-<key>): open it and every section
 *   around it, so the result and any checker error are in view;
 * - a click on a problem's JSON pointer in the summary list jumps to (and opens) that field.
 * Plain ES5, no build step. */
(function () {
  "use strict";

  function reveal(element) {
    for (var node = element; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    element.scrollIntoView({block: "start"});
  }

  function revealHash() {
    var id = decodeURIComponent((window.location.hash || "").slice(1));
    var target = id && document.getElementById(id);
    if (target) { reveal(target); }
  }

  function start() {
    revealHash();
    window.addEventListener("hashchange", revealHash);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
