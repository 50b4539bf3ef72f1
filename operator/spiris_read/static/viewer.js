// The auditor's viewer: one voucher at a time beside its document; arrows, swipes and buttons move.
// Everything shown comes from JSON and is set with textContent (file names and texts are data).
(function () {
  "use strict";
  var config = JSON.parse(document.body.getAttribute("data-config"));
  var t = config.texts;
  var base = config.base.replace(/\/$/, "");
  var state = { items: [], index: 0, total: 0, cursor: null, filters: "", loading: null, current: null };

  function el(id) { return document.getElementById(id); }
  function text(node, value) { node.textContent = value == null ? "" : String(value); }

  function query(extra) {
    var parts = [];
    if (state.filters) { parts.push(state.filters); }
    if (extra) { parts.push(extra); }
    return parts.length ? "?" + parts.join("&") : "";
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(t.error + " (" + r.status + ")"); }
      return r.json();
    });
  }

  function loadPage() {
    if (state.loading) { return state.loading; }
    var extra = "limit=100" + (state.cursor ? "&cursor=" + encodeURIComponent(state.cursor) : "");
    state.loading = getJson(base + "/vouchers" + query(extra)).then(function (page) {
      state.items = state.items.concat(page.items);
      state.total = page.total;
      state.cursor = page.nextCursor;
      state.loading = null;
    }, function (err) { state.loading = null; throw err; });
    return state.loading;
  }

  function counter() {
    if (!state.total) { text(el("counter"), t.empty); return; }
    text(el("counter"), (state.index + 1) + " " + t.of + " " + state.total);
    el("previous").disabled = state.index <= 0;
    el("next").disabled = state.index >= state.total - 1;
  }

  function showDocument(doc) {
    var frame = el("document-frame");
    frame.replaceChildren();
    if (!doc) { text(el("file-name"), t.no_documents); return; }
    text(el("file-name"), doc.fileName || doc.id);
    var src = base + "/documents/" + encodeURIComponent(doc.id) + "/content";
    var type = (doc.contentType || "").split(";")[0].trim().toLowerCase();
    var node;
    if (/^image\/(png|jpeg|gif|webp)$/.test(type)) {
      node = document.createElement("img");
      node.alt = doc.fileName || "";
    } else if (type === "application/pdf") {
      node = document.createElement("iframe");
      node.title = doc.fileName || "";
    } else {
      node = document.createElement("a");
      text(node, t.download);
      node.href = src;
      frame.appendChild(node);
      return;
    }
    if (node.tagName === "IFRAME") {
      // Chromium's PDF viewer takes the keyboard focus when it loads; take it back so the arrows keep
      // moving through the vouchers.
      // Only in the first seconds after loading, so a click into the PDF (zoom, search) keeps its focus.
      var until = Date.now() + 3000;
      var reclaim = function () {
        if (document.activeElement === node) { el("stage").focus({ preventScroll: true }); }
        if (Date.now() < until && node.isConnected) { setTimeout(reclaim, 100); }
      };
      node.addEventListener("load", reclaim);
      setTimeout(reclaim, 100);
    }
    node.src = src;
    node.id = "document-view";
    node.setAttribute("data-document-id", doc.id);
    frame.appendChild(node);
    var open = document.createElement("a");
    open.href = src; open.target = "_blank"; open.rel = "noopener noreferrer"; text(open, t.open);
    frame.appendChild(open);
  }

  function renderVoucher(v) {
    state.current = v;
    text(el("voucher-number"), v.number);
    text(el("voucher-date"), v.date);
    text(el("voucher-text"), v.text);
    var body = el("rows").querySelector("tbody");
    body.replaceChildren();
    v.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      [row.rowNo, row.account, row.accountName, row.debit === "0.00" ? "" : row.debit,
       row.credit === "0.00" ? "" : row.credit].forEach(function (value, i) {
        var td = document.createElement("td");
        if (i >= 3) { td.className = "amount"; }
        text(td, value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    text(el("debit-total"), v.debitTotal);
    text(el("credit-total"), v.creditTotal);
    var list = el("documents");
    list.replaceChildren();
    v.documents.forEach(function (doc, i) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      text(button, doc.fileName || doc.id);
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(list.children, function (c) { c.classList.remove("current"); });
        li.classList.add("current");
        showDocument(doc);
      });
      if (i === 0) { li.classList.add("current"); }
      li.appendChild(button);
      list.appendChild(li);
    });
    v.missingDocuments.forEach(function (m) {
      var li = document.createElement("li");
      li.className = "missing";
      text(li, t.missing + ": " + m.reason);
      list.appendChild(li);
    });
    showDocument(v.documents[0]);
    document.body.setAttribute("data-voucher", v.number || v.id);
  }

  function show(index) {
    if (index < 0 || (state.total && index >= state.total)) { return Promise.resolve(); }
    var ready = index < state.items.length ? Promise.resolve() : loadPage();
    return ready.then(function () {
      if (index >= state.items.length) { return; }
      state.index = index;
      counter();
      var item = state.items[index];
      return getJson(base + "/vouchers/" + encodeURIComponent(item.id)).then(function (v) {
        if (state.items[state.index] === item) { renderVoucher(v); }
        if (state.cursor && state.items.length - index < 20) { loadPage(); }
      });
    }).catch(function (err) { text(el("counter"), err.message); });
  }

  function reload() {
    state.items = []; state.index = 0; state.total = 0; state.cursor = null; state.loading = null;
    var parts = [];
    var documents = el("filter-documents").value;
    if (documents === "with") { parts.push("hasDocuments=true"); }
    if (documents === "missing") { parts.push("missingDocuments=true"); }
    var account = el("filter-account").value.trim();
    if (account) { parts.push("account=" + encodeURIComponent(account)); }
    state.filters = parts.join("&");
    return loadPage().then(function () {
      if (!state.total) {
        counter();
        ["voucher-number", "voucher-date", "voucher-text", "file-name"].forEach(function (id) { text(el(id), ""); });
        el("rows").querySelector("tbody").replaceChildren();
        el("documents").replaceChildren();
        el("document-frame").replaceChildren();
        return;
      }
      return show(0);
    }).catch(function (err) { text(el("counter"), err.message); });
  }

  function next() { return show(state.index + 1); }
  function previous() { return show(state.index - 1); }

  el("next").addEventListener("click", next);
  el("previous").addEventListener("click", previous);
  el("filters").addEventListener("submit", function (event) { event.preventDefault(); reload(); });
  document.addEventListener("keydown", function (event) {
    if (event.target && /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName)) { return; }
    if (event.key === "ArrowRight" || event.key === "PageDown") { event.preventDefault(); next(); }
    if (event.key === "ArrowLeft" || event.key === "PageUp") { event.preventDefault(); previous(); }
  });
  var touch = null;
  var stage = el("stage");
  stage.addEventListener("touchstart", function (event) {
    if (event.touches.length === 1) { touch = { x: event.touches[0].clientX, y: event.touches[0].clientY }; }
  }, { passive: true });
  stage.addEventListener("touchend", function (event) {
    if (!touch || !event.changedTouches.length) { return; }
    var dx = event.changedTouches[0].clientX - touch.x;
    var dy = event.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 1.5 * Math.abs(dy)) { if (dx < 0) { next(); } else { previous(); } }
  }, { passive: true });
  reload();
})();
