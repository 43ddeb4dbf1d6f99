"use strict";
(function () {
  // Selection, filtering and paging only: the page is complete without this script.
  // Every text this script shows is set with textContent; the only markup it parses is the page's own
  // (a closed connection's body, see ready()).
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
    var section = row.closest(".conn");
    var f = cells(row);
    var rule = row.closest(".timeline").dataset.rule || "";
    panelBody.textContent = "";
    panelBody.appendChild(el("h3", section.querySelector("h2").textContent + ": record " + f.index));
    var dl = el("dl");
    var failed = row.classList.contains("bad");
    [["direction", f.dir], ["content type", f.type], ["sequence number", f.seq, "seq"], ["fragment bytes", f.length],
     ["plaintext bytes", f.plain], [failed ? "key tried" : "protected with", f.key, "key"],
     ["verdict", f.verdict]].forEach(function (p) {
      dl.appendChild(el("dt", p[0]));
      dl.appendChild(el("dd", p[1], p[2] || ""));
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
      return !r.classList.contains("hide") && !r.classList.contains("mark");
    });
  }

  function option(value, text) {
    var o = el("option", text);
    o.value = value;
    return o;
  }

  function makeTools(section) {
    // Filters and the pager: made here, so a page without JavaScript carries none of them.
    var tools = el("div", undefined, "tools");
    var key = el("select", undefined, "fkey");
    key.appendChild(option("", "all"));
    section.querySelectorAll(".legend .lb").forEach(function (lb, i) { key.appendChild(option(String(i), lb.textContent)); });
    var dir = el("select", undefined, "fdir");
    [["", "both"], ["cs", "client → server"], ["sc", "server → client"]].forEach(function (p) {
      dir.appendChild(option(p[0], p[1]));
    });
    var bad = el("input", undefined, "fbad");
    bad.type = "checkbox";
    [["key ", key], ["direction ", dir], [" failed only", bad]].forEach(function (p) {
      var label = el("label");
      if (p[1] === bad) { label.appendChild(bad); label.appendChild(document.createTextNode(p[0])); }
      else { label.appendChild(document.createTextNode(p[0])); label.appendChild(p[1]); }
      tools.appendChild(label);
      tools.appendChild(document.createTextNode(" "));
    });
    var pager = el("span", undefined, "pager");
    var prev = el("button", "previous", "prev");
    var next = el("button", "next", "next");
    prev.type = next.type = "button";
    var pos = el("span", "", "pos");
    pos.setAttribute("aria-live", "polite");
    [prev, pos, next].forEach(function (e) { pager.appendChild(e); pager.appendChild(document.createTextNode(" ")); });
    tools.appendChild(pager);
    return tools;
  }

  function setupTimeline(section) {
    if (section.dataset.ready) { return; }
    section.dataset.ready = "1";
    var table = section.querySelector(".timeline");
    var pages = table ? table.querySelectorAll(".pg") : [];
    if (!pages.length) { return; }
    var tools = makeTools(section);
    table.parentNode.insertBefore(tools, table);
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
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr:not(.mark)"), function (r) {
        var hide = (key && r.dataset.k !== key) || (dir && r.cells[1].firstChild.className !== dir) ||
          (bad && !r.classList.contains("bad"));
        r.classList.toggle("hide", Boolean(hide));
      });
      show(current);
    }
    tools.querySelector(".prev").addEventListener("click", function () { show(current - 1); });
    tools.querySelector(".next").addEventListener("click", function () { show(current + 1); });
    tools.querySelectorAll("select, input").forEach(function (c) { c.addEventListener("change", filter); });
    table.addEventListener("click", function (e) {
      var row = e.target.closest("tbody tr:not(.mark)");
      if (row) { select(row); row.focus(); }
    });
    table.addEventListener("keydown", function (e) {
      var row = e.target.closest("tbody tr:not(.mark)");
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

  // Connections are <details>. A large capture's start closed: their bodies are one gzip'd, base64'd block of
  // the page's own (escaped) markup, unpacked with the browser's DecompressionStream when the first is opened.
  var packed = document.getElementById("packed");
  var blocks = {};
  function unpack(n) {
    if (!blocks[n]) {
      var text = packed.querySelectorAll("script")[n].textContent;
      var bytes = Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); });
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      blocks[n] = new Response(stream).text().then(function (t) { return t.split(packed.dataset.separator); });
    }
    return blocks[n];
  }
  function ready(conn) {
    if (!packed || conn.dataset.filled) { setupTimeline(conn); return; }
    conn.dataset.filled = "1";
    var index = Array.prototype.indexOf.call(conn.parentNode.querySelectorAll(":scope > details.conn"), conn);
    var group = Number(packed.dataset.group);
    unpack(Math.floor(index / group)).then(function (bodies) {
      conn.insertAdjacentHTML("beforeend", bodies[index % group]);  // the page's own markup: its values are escaped
      setupTimeline(conn);
    });
  }
  document.querySelectorAll("details.conn[open]").forEach(ready);
  document.addEventListener("toggle", function (e) {
    if (e.target.matches && e.target.matches("details.conn") && e.target.open) { ready(e.target); }
  }, true);
  function openTarget() {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    var conn = target && target.closest ? target.closest("details.conn") : null;
    if (conn && !conn.open) { conn.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
