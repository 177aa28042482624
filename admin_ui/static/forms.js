/* Generated forms: small enhancements only; every page works without this file.
 * - live row/column totals in grids (the server computes the same totals on every render);
 * - an answer that shows or hides other fields (data-refresh) re-renders the page via the
 *   hidden __refresh__ button, keeping everything typed;
 * - a second click on a slow connection does not post the form twice;
 * - what is typed on a page is kept in the tab (sessionStorage) until the server has it, and offered
 *   back when a save was lost on the way (see keepTyped): the fill pages and the review page;
 * - a page that loads with problems focuses their summary (data-gr-focus), so a screen reader reads it,
 *   and a link to a field (#id) puts the cursor in it with its label in view;
 * - text with a length limit counts what is typed (data-gr-maxlength; see countChars).
 * Loaded on every page (base.html), so that logging out anywhere forgets the copies.
 * Plain ES5, no build step. */
(function () {
  "use strict";

  function number(input) {  // read as the server reads it (engine/validation/coercion.py)
    var text = (input.value || "").replace(/[\uff01-\uff5e]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);  // full-width, as a Chinese input method types
    }).replace(/[,，\s]/g, "");
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

  /* On a weak connection a save can fail before it reaches the server; the browser's error page,
   * Back or a reload then show the page as last saved, and what was typed is gone. A login that expired
   * (8 hours) or ended in another tab loses a post the same way: the login page comes first, then the
   * page as last saved. So every change is copied to sessionStorage (per tab: gone when the tab closes,
   * which matters on a shared village computer), under the form's data-gr-backup key (user, report and
   * page; user and task on the review page), with the revision the page was rendered at
   * (data-gr-revision). When the page is shown again at that same revision with other values, the post
   * never arrived: the copy is offered back. A newer revision means the server has a save since (this
   * one or someone else's, which the server's conflict check handles), so the copy is dropped. A post
   * that leaves the page for good (a review decided) has its copy forgotten by the page it lands on
   * (data-gr-forget, see forgetDone). */
  var SKIP_TYPES = { submit: 1, button: 1, reset: 1, file: 1, hidden: 1, image: 1 };

  function typedFields(form) {
    var out = [], els = form.elements;
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.name && !el.disabled && !SKIP_TYPES[el.type] && el.name.indexOf("__") !== 0 &&
          el.name !== "csrf_token") { out.push(el); }
    }
    return out;
  }

  function snapshot(form) {  // {name: [values]} as the form would post them
    var values = {}, fields = typedFields(form);
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i], list = values[el.name] || (values[el.name] = []);
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) { list.push(el.value); }
      } else if (el.type === "select-multiple") {
        for (var j = 0; j < el.options.length; j++) { if (el.options[j].selected) { list.push(el.options[j].value); } }
      } else { list.push(el.value); }
    }
    return values;
  }

  function reveal(el) {  // a restored comment box inside a closed <details> must be seen
    var details = el.closest ? el.closest("details") : null;
    if (details) { details.open = true; }
  }

  function restore(form, values, only) {  // only: the names to restore (all when absent)
    var used = {}, fields = typedFields(form), first = null;
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i], list = values[el.name];
      if (!list || el.readOnly || (only && only.indexOf(el.name) < 0)) { continue; }  // calculated: the server's
      var before = el.type === "checkbox" || el.type === "radio" ? el.checked : el.value;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = list.indexOf(el.value) >= 0;
      } else if (el.type === "select-multiple") {
        for (var j = 0; j < el.options.length; j++) { el.options[j].selected = list.indexOf(el.options[j].value) >= 0; }
      } else {
        var n = used[el.name] || 0;
        if (n < list.length) { el.value = list[n]; }
        used[el.name] = n + 1;
      }
      if (before !== (el.type === "checkbox" || el.type === "radio" ? el.checked : el.value)) {
        reveal(el);
        if (!first) { first = el; }
      }
    }
    return first;
  }

  function differing(a, b) {  // names whose values differ
    var names = [], name;
    for (name in a) { if (a.hasOwnProperty(name) && JSON.stringify(a[name]) !== JSON.stringify(b[name] || [])) { names.push(name); } }
    for (name in b) { if (b.hasOwnProperty(name) && !a.hasOwnProperty(name) && b[name].length) { names.push(name); } }
    return names;
  }

  function store() {
    try { return window.sessionStorage; } catch (e) { return null; }  // storage may be switched off
  }

  function clock(ms) {
    var d = new Date(ms), pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function offer(form, key, kept, count, reshaped) {
    var box = document.createElement("div");
    box.className = "flash flash-warning";
    box.id = "gr-restore";
    box.setAttribute("role", "status");
    var text = document.createElement("p");
    text.textContent = "本页有 " + count + " 项输入还没有保存到服务器（" + clock(kept.at) +
      " 在本浏览器中记下），可能是提交时网络中断或登录已过期。" +
      (reshaped ? "本页的行已与当时不同，恢复后请逐行核对。" : "");
    var take = document.createElement("button");
    take.type = "button";
    take.textContent = "恢复这些输入";
    var drop = document.createElement("button");
    drop.type = "button";
    drop.className = "link";
    drop.textContent = "不用了，以已保存的为准";
    box.appendChild(text);
    box.appendChild(take);
    box.appendChild(document.createTextNode(" "));
    box.appendChild(drop);
    form.parentNode.insertBefore(box, form);
    take.addEventListener("click", function () {
      var first = restore(form, kept.values);
      updateCounts(form);
      text.textContent = "已恢复您上次未保存的输入，请检查后点“" + form.getAttribute("data-gr-resend") + "”。";
      box.className = "flash flash-info";
      box.removeChild(take);
      box.removeChild(drop);
      if (first) { first.focus(); }
    });
    drop.addEventListener("click", function () {
      var s = store();
      if (s) { s.removeItem(key); }
      box.parentNode.removeChild(box);
    });
  }

  // Buttons that only re-render the posted page, storing nothing (engine.forms.navigation: not a page
  // button): a relevance refresh and the row buttons.
  var RERENDER = /^__(refresh__|add__|remove__)/;
  var forgetting = false;  // logging out: nothing more is kept (the page's unload would save again)

  function keepTyped(form) {
    var key = form.getAttribute("data-gr-backup"), rev = form.getAttribute("data-gr-revision"), s = store();
    if (!key || !s || rev === null) { return; }
    var kept = null, now = snapshot(form);
    try { kept = JSON.parse(s.getItem(key) || "null"); } catch (e) { kept = null; }
    var restored = false;
    if (kept && kept.rev === rev && kept.values) {
      var recent = kept.rerender && new Date().getTime() - kept.at < 60000;
      if (recent && kept.rerender === "remove") {
        s.removeItem(key);  // the rows were renumbered: typing during the round trip has no place
      } else if (recent && echoes(kept.sent || {}, now, form)) {
        // Back from a re-render this tab asked for a moment ago (the page shows what it posted): what
        // was typed while it was on its way goes back in, and the cursor where the user was.
        var typedMeanwhile = differing(kept.values, kept.sent || {});
        restore(form, kept.values, typedMeanwhile);
        updateCounts(form);
        var at = kept.focus && document.getElementById(kept.focus);
        if (at && form.contains(at)) { at.focus(); }
        // an answer that revealed a field before the cursor: the cursor goes there, or a clerk typing
        // straight on skips it; not while the clerk was typing elsewhere during the update
        var revealed = kept.rerender === "refresh" && !typedMeanwhile.length ? firstNew(form, kept.sent || {}, at) : null;
        if (revealed) { revealed.focus(); }
        restored = true;
      } else {
        var names = differing(kept.values, now);
        var reshaped = false, name;
        for (name in kept.values) { if (kept.values.hasOwnProperty(name) && !now.hasOwnProperty(name)) { reshaped = true; } }
        for (name in now) { if (now.hasOwnProperty(name) && !kept.values.hasOwnProperty(name)) { reshaped = true; } }
        if (names.length) { offer(form, key, kept, names.length, reshaped); } else { s.removeItem(key); }
      }
    } else if (kept) {
      s.removeItem(key);
    }
    var timer = null, rerender = "", sent = null;
    function save() {
      timer = null;
      if (forgetting) { return; }
      var focused = document.activeElement;
      var record = { rev: rev, at: new Date().getTime(), values: snapshot(form), rerender: rerender, sent: sent,
                     focus: focused && focused.id && form.contains(focused) ? focused.id : "" };
      try { s.setItem(key, JSON.stringify(record)); } catch (e) { /* full: nothing to do */ }
    }
    form.addEventListener("input", function () { if (!timer) { timer = window.setTimeout(save, 300); } });
    form.addEventListener("change", save);
    form.addEventListener("submit", function (event) {
      var by = event.submitter, match = by && by.name ? RERENDER.exec(by.name) : null;
      rerender = match ? match[1].replace(/_+$/, "") : "";
      sent = snapshot(form);  // what this post carries; typing after it is what a re-render would lose
      save();
    });
    window.addEventListener("pagehide", save);  // the typing of the last 300 ms too
    if (restored) { save(); }  // the copy now matches this page, not the re-render's round trip
  }

  function firstNew(form, sent, before) {  // the first field the post did not carry, above ``before``
    var fields = typedFields(form);
    for (var i = 0; i < fields.length && fields[i] !== before; i++) {
      if (!fields[i].readOnly && !sent.hasOwnProperty(fields[i].name)) { return fields[i]; }
    }
    return null;
  }

  function echoes(sent, now, form) {  // the page shows what was posted, where the user can type
    var fields = typedFields(form);
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].name;
      if (!fields[i].readOnly && sent.hasOwnProperty(name) && JSON.stringify(sent[name]) !== JSON.stringify(now[name])) {
        return false;
      }
    }
    return true;
  }

  function forgetOnLogout() {  // leaving on purpose: nothing typed stays in the tab
    var forms = document.querySelectorAll("form[action$='/logout']");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function () {
        var s = store(), doomed = [];
        forgetting = true;
        if (!s) { return; }
        for (var j = 0; j < s.length; j++) { if (s.key(j).indexOf("gr-backup:") === 0) { doomed.push(s.key(j)); } }
        for (j = 0; j < doomed.length; j++) { s.removeItem(doomed[j]); }
      });
    }
  }

  function forgetDone() {  // copies the server says are no longer needed: the post they kept arrived
    var done = document.querySelectorAll("[data-gr-forget]"), s = store();
    for (var i = 0; s && i < done.length; i++) { s.removeItem(done[i].getAttribute("data-gr-forget")); }
  }

  /* 已填 N / 500 字 under a text with a limit (data-gr-maxlength; the element <id>-count shows the limit
   * without JavaScript). Counted as the server counts: characters (an emoji is one), a line break as the
   * two characters (CR LF) a form sends. Crossing the limit is announced once, not every keystroke. */
  function countChars(text) {
    return text.replace(/\r?\n/g, "\r\n").replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "_").length;
  }

  var announcer = null;
  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "gr-sr";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = text;
  }

  function updateCount(el) {
    var out = el.id && document.getElementById(el.id + "-count");
    var limit = parseInt(el.getAttribute("data-gr-maxlength"), 10);
    if (!out || !limit) { return; }
    var n = countChars(el.value || ""), over = n > limit;
    out.textContent = "已填 " + n + " / " + limit + " 字" + (over ? "，超出 " + (n - limit) + " 字，请删减" : "");
    if (over !== (out.getAttribute("data-over") === "1")) {
      out.setAttribute("data-over", over ? "1" : "0");
      out.className = out.className.replace(/ ?gr-over/g, "") + (over ? " gr-over" : "");
      if (out.getAttribute("data-counted")) { announce(over ? out.textContent : "字数已在 " + limit + " 字以内"); }
    }
    out.setAttribute("data-counted", "1");
  }

  function updateCounts(root) {
    var fields = root.querySelectorAll("[data-gr-maxlength]");
    for (var i = 0; i < fields.length; i++) { updateCount(fields[i]); }
  }

  function countAsTyped() {
    document.addEventListener("input", function (event) {
      if (event.target && event.target.hasAttribute && event.target.hasAttribute("data-gr-maxlength")) { updateCount(event.target); }
    });
    updateCounts(document);
  }

  function hintScrolling(form) {  // 左右滑动查看更多列 only where the grid is wider than its box
    var hints = form.querySelectorAll("[data-gr-grid-hint]");
    function update() {
      for (var i = 0; i < hints.length; i++) {
        var wrap = hints[i].nextElementSibling;
        if (wrap) { hints[i].hidden = wrap.scrollWidth <= wrap.clientWidth + 1; }
      }
    }
    if (hints.length) { update(); window.addEventListener("resize", update); }
  }

  function init(form) {
    hintScrolling(form);
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
    keepTyped(form);
  }

  var CONTROLS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";

  /* Put the cursor in the field ``target`` is (an input) or holds (a radio group's fieldset, a grid, a
   * row), its label or legend in view above it: the browser's own jump to #id scrolls the input to the
   * top edge, the label that says what it is just out of sight. False when there is nothing to focus. */
  function focusField(target) {
    var field = /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) ? target :
      target.querySelector("input:checked") || target.querySelector(CONTROLS);
    if (!field) { return false; }
    var label = field.id && document.querySelector("label[for='" + field.id + "']");
    var fieldset = field.closest ? field.closest("fieldset") : null;
    if (!label && fieldset) { label = fieldset.querySelector("legend"); }
    var details = field.closest ? field.closest("details") : null;
    if (details) { details.open = true; }
    field.focus();
    if (label && label.scrollIntoView) { label.scrollIntoView(); }
    return true;
  }

  function targetOf(hash) {
    if (!hash || hash.length < 2) { return null; }
    try { return document.getElementById(decodeURIComponent(hash.slice(1))); } catch (e) { return null; }
  }

  function focusOnLoad() {
    // arriving by a link to a field (from the list of problems on the page before): the field first
    var target = targetOf(window.location.hash);
    if (target && target.closest && target.closest("form") && focusField(target)) { return; }
    var alert = document.querySelector("[data-gr-focus]");  // else what went wrong, read out
    if (alert) { alert.focus(); }
  }

  function followFieldLinks() {  // links to a field on this page, in the lists of problems
    document.addEventListener("click", function (event) {
      var link = event.target && event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || !link.hash || link.pathname !== window.location.pathname || link.search !== window.location.search) { return; }
      var target = targetOf(link.hash);
      if (target && focusField(target)) {
        event.preventDefault();
        if (window.history && window.history.replaceState) { window.history.replaceState(null, "", link.hash); }
      }
    });
  }

  function start() {
    var forms = document.querySelectorAll("[data-gr-form]");
    forgetDone();
    focusOnLoad();  // before the forms: a re-render's restored cursor (keepTyped) wins over the summary
    followFieldLinks();
    for (var i = 0; i < forms.length; i++) { init(forms[i]); }
    countAsTyped();
    forgetOnLogout();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
