"use strict";
(function () {
  // Selection, filtering and paging only: the page is complete without this script.
  // Every text this script shows is set with textContent, never parsed as HTML.
  document.documentElement.classList.add("js");
  var panel = document.getElementById("panel");
  var panelBody = panel.querySelector(".body");
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function cells(row) {
    var c = row.cells;
    return {index: c[0].textContent, type: c[1].textContent, dir: c[1].firstChild.className === "cs" ?
      "client → server" : "server → client", seq: c[2].textContent, length: c[3].textContent,
      plain: c[4].textContent, key: c[5].textContent, verdict: c[6].textContent};
  }

  function highlight(section, key) {
    section.querySelectorAll(".tree li.hl").forEach(function (n) { n.classList.remove("hl"); });
    section.querySelectorAll(".tree li").forEach(function (n) {
      if (n.dataset.keys && n.dataset.keys.split(" ").indexOf(key) >= 0) { n.classList.add("hl"); }
    });
  }

  function select(row) {
    if (selected) { selected.classList.remove("sel"); selected.removeAttribute("aria-selected"); }
    selected = row;
    row.classList.add("sel");
    row.setAttribute("aria-selected", "true");
    var section = row.closest("section.conn");
    var f = cells(row);
    var rule = row.closest(".timeline").dataset.rule || "";
    panelBody.textContent = "";
    panelBody.appendChild(el("h3", section.querySelector("h2").textContent + ": record " + f.index));
    var dl = el("dl");
    [["direction", f.dir], ["content type", f.type], ["sequence number", f.seq], ["fragment bytes", f.length],
     ["plaintext bytes", f.plain], ["protected with", f.key], ["verdict", f.verdict]].forEach(function (p) {
      dl.appendChild(el("dt", p[0]));
      dl.appendChild(el("dd", p[1], p[0] === "sequence number" ? "seq" : (p[0] === "protected with" ? "key" : "")));
    });
    if (rule && f.seq !== "-") {
      dl.appendChild(el("dt", "nonce and additional data"));
      dl.appendChild(el("dd", rule.split("{seq}").join(f.seq)));
    }
    panelBody.appendChild(dl);
    var detail = document.getElementById("d-" + row.id);
    if (detail) {
      var copy = detail.querySelector("dl").cloneNode(true);
      panelBody.appendChild(copy);
    }
    panel.hidden = false;
    highlight(section, row.dataset.k);
  }

  function visibleRows(timeline) {
    return Array.prototype.filter.call(timeline.querySelectorAll(".pg:not(.off) tbody tr"), function (r) {
      return !r.classList.contains("hide");
    });
  }

  function setupTimeline(section) {
    var table = section.querySelector(".timeline");
    var pages = table ? table.querySelectorAll(".pg") : [];
    if (!pages.length) { return; }
    var tools = section.querySelector(".tools");
    var pos = tools.querySelector(".pos");
    var current = 0;
    function show(n) {
      current = Math.max(0, Math.min(n, pages.length - 1));
      for (var i = 0; i < pages.length; i++) { pages[i].classList.toggle("off", i !== current); }
      pos.textContent = "page " + (current + 1) + " of " + Math.max(pages.length, 1);
      var rows = visibleRows(table);
      rows.forEach(function (r, i) { r.tabIndex = i === 0 ? 0 : -1; });
    }
    function filter() {
      var key = tools.querySelector(".fkey").value;
      var dir = tools.querySelector(".fdir").value;
      var bad = tools.querySelector(".fbad").checked;
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (r) {
        var hide = (key && r.dataset.k !== key) || (dir && r.cells[1].firstChild.className !== dir) ||
          (bad && !r.classList.contains("bad"));
        r.classList.toggle("hide", Boolean(hide));
      });
      show(current);
    }
    tools.hidden = false;
    tools.querySelector(".prev").addEventListener("click", function () { show(current - 1); });
    tools.querySelector(".next").addEventListener("click", function () { show(current + 1); });
    tools.querySelectorAll("select, input").forEach(function (c) { c.addEventListener("change", filter); });
    table.addEventListener("click", function (e) {
      var row = e.target.closest("tbody tr");
      if (row) { select(row); row.focus(); }
    });
    table.addEventListener("keydown", function (e) {
      var row = e.target.closest("tbody tr");
      if (!row) { return; }
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(row); return; }
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") { return; }
      e.preventDefault();
      var rows = visibleRows(table);
      var next = rows[rows.indexOf(row) + (e.key === "ArrowDown" ? 1 : -1)];
      if (next) { row.tabIndex = -1; next.tabIndex = 0; next.focus(); select(next); }
    });
    show(0);
  }

  var sections = document.querySelectorAll("section.conn");
  sections.forEach(setupTimeline);
  if (sections.length > 20) {  // a large capture: one connection at a time, chosen in the list
    var showConnection = function () {
      var wanted = document.getElementById(location.hash.slice(1)) || sections[0];
      var target = wanted.closest ? wanted.closest("section.conn") || sections[0] : sections[0];
      sections.forEach(function (s) { s.classList.toggle("off", s !== target); });
    };
    window.addEventListener("hashchange", showConnection);
    showConnection();
  }
})();
