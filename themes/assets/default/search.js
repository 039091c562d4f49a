// Storefront enhancements. Progressive domain search: the result page renders at once with every TLD
// "checking…", then the answers stream in per registry (NDJSON from
// /search/stream). Without JavaScript the plain /search page waits for them.
(function () {
  "use strict";
  // Searches started from a form on any page ask for the live page.
  document.querySelectorAll("form.domain-search").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (!form.querySelector("input[name=live]")) {
        var live = document.createElement("input");
        live.type = "hidden";
        live.name = "live";
        live.value = "1";
        form.appendChild(live);
      }
    });
  });
  // Cart: a changed period applies at once (the button is there without JS).
  document.querySelectorAll(".period-form select").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  // Sunrise: a chosen SMD file is read into the form's text field.
  document.querySelectorAll(".sunrise-form .smd-file").forEach(function (input) {
    input.addEventListener("change", function () {
      var f = input.files && input.files[0];
      if (!f) return;
      f.text().then(function (text) { input.form.querySelector("textarea[name=smd]").value = text; });
    });
  });
  var table = document.getElementById("results");
  if (!table || table.dataset.live !== "1") return;
  var i18n = JSON.parse(document.getElementById("search-i18n").textContent);
  var addTpl = document.getElementById("tpl-add").innerHTML;
  var rows = {};
  table.querySelectorAll("tbody tr[data-ascii]").forEach(function (tr) {
    if (tr.dataset.ascii) rows[tr.dataset.ascii] = tr;
  });
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function show(ascii, status) {
    var tr = rows[ascii];
    if (!tr) return;
    var name = tr.dataset.name;
    var cls = { available: "badge-success", taken: "badge-muted", unknown: "badge-warning" }[status];
    tr.className = tr.className.replace(/status-\S+/, "status-" + status);
    tr.querySelector(".status").innerHTML = '<span class="badge ' + cls + '">' + esc(i18n[status]) + "</span>";
    var action = tr.querySelector(".action");
    if (status === "available") action.innerHTML = addTpl.split("__NAME__").join(esc(name));
    else if (status === "unknown")
      action.innerHTML = '<a href="/search?q=' + encodeURIComponent(name) + '">' + esc(i18n.try_again) + "</a>";
    else if (status === "taken") action.innerHTML = "";
  }
  function list(sectionId, items, withAdd) {
    var section = document.getElementById(sectionId);
    if (!items || !items.length) return;
    var ul = section.querySelector("ul");
    ul.innerHTML = items
      .map(function (s) {
        return (
          '<li><span class="suggestion-name">' + esc(s.name) + '</span> <span class="suggestion-price">' +
          esc(s.price || "") + "</span> " + (withAdd ? addTpl.split("__NAME__").join(esc(s.name)) : esc(s.seller_ref || "")) + "</li>"
        );
      })
      .join("");
    section.hidden = false;
  }
  var url = "/search/stream?q=" + encodeURIComponent(table.dataset.q) +
    (table.dataset.group ? "&group=" + encodeURIComponent(table.dataset.group) : "");
  fetch(url, { headers: { Accept: "application/x-ndjson" } }).then(function (resp) {
    var reader = resp.body.getReader();
    var decoder = new TextDecoder();
    var buf = "";
    function handle(line) {
      if (!line.trim()) return;
      var msg = JSON.parse(line);
      (msg.results || []).forEach(function (r) { show(r.ascii, r.status); });
      if (msg.done) {
        list("suggestions", msg.suggestions, true);
        list("aftermarket", msg.aftermarket, false);
        Object.keys(rows).forEach(function (a) {
          if (/status-checking/.test(rows[a].className)) show(a, "unknown");
        });
      }
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { handle(buf); return; }
        buf += decoder.decode(chunk.value, { stream: true });
        var lines = buf.split("\n");
        buf = lines.pop();
        lines.forEach(handle);
        return pump();
      });
    }
    return pump();
  }).catch(function () {
    Object.keys(rows).forEach(function (a) {
      if (/status-checking/.test(rows[a].className)) show(a, "unknown");
    });
  });
})();
