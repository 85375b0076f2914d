/* Eerlijk embed loader, docs/embedding.md. Budget: 1,800 B gzipped (tests/test_embed.py). */
(function (w, d) {
  "use strict";
  var P = "data-eerlijk", S = P + "-state", OWN = /^data-eerlijk-(shop|server|state)$/;
  var me = d.currentScript, base = me && me.src ? me.src.replace(/\/embed\.js([?#].*)?$/, "") : "";
  if (w.Eerlijk && w.Eerlijk.render) return w.Eerlijk.render(); // loaded twice

  // A placeholder's widget query, from its data-eerlijk-* attributes.
  function spec(el) {
    var q = new URLSearchParams(), a = el.attributes;
    q.set("widget", el.getAttribute(P));
    for (var i = 0; i < a.length; i++) {
      if (a[i].name.indexOf(P + "-") === 0 && !OWN.test(a[i].name)) q.set(a[i].name.slice(13), a[i].value);
    }
    // No data-eerlijk-locale: the host page's language, as a hint (unsupported ones fall back).
    if ((a = el.closest("[lang]")) && !q.has("locale")) q.set("lang", a.lang);
    return q.toString();
  }

  function fill(el, html) {
    var s = el.shadowRoot || el.attachShadow({ mode: "open" }), t = d.createElement("template"), old, i;
    t.innerHTML = html;
    // JSON-LD goes to the light DOM, for crawlers.
    old = el.querySelectorAll("script[" + P + "-ld]");
    for (i = 0; i < old.length; i++) el.removeChild(old[i]);
    old = t.content.querySelectorAll('script[type="application/ld+json"]');
    for (i = 0; i < old.length; i++) { old[i].setAttribute(P + "-ld", ""); el.appendChild(old[i]); }
    // Inherit nothing from the host but custom properties; theme rules override this.
    s.innerHTML = "<style>:where(.eerlijk){all:initial;display:block}</style>";
    s.appendChild(t.content);
    if (!s._eerlijk) {
      s._eerlijk = 1;
      s.addEventListener("click", (e) => { try { nav(el, e); } catch (x) {} });
    }
    // The widget now takes its real height: the snippet's reserve (a light-DOM child) no longer renders.
    el.style.height = el.style.containerType = ""; // (a height: snippets pasted before 2026-11)
    el.setAttribute(S, "done");
  }

  // List and product links (filter, sort, page) re-fetch in place.
  function nav(el, e) {
    var a = e.target.closest && e.target.closest("a[data-eerlijk-nav]");
    if (!a || e.button || e.ctrlKey || e.metaKey || e.shiftKey || !/^(list|product)$/.test(el.getAttribute(P))) return;
    var u = new URL(a.href);
    ["rating", "sort", "page"].forEach((k) => {
      var v = u.searchParams.get(k);
      if (v) el.setAttribute(P + "-" + k, v); else el.removeAttribute(P + "-" + k);
    });
    e.preventDefault();
    load([el]);
  }

  function failed(els) { els.forEach((el) => el.setAttribute(S, "error")); }

  // One request per server and shop: {server}/w/{shop}/bundle.json?w=..&w=..
  function load(els) {
    var groups = {};
    els.forEach((el) => {
      var k = (el.getAttribute(P + "-server") || base).replace(/\/$/, "") + "/w/" +
        encodeURIComponent(el.getAttribute(P + "-shop") || "");
      (groups[k] = groups[k] || []).push(el);
      el._eerlijk = spec(el);
      el.setAttribute(S, "loading");
    });
    Object.keys(groups).forEach((k) => {
      for (var g = groups[k], i = 0; i < g.length; i += 20) get(k, g.slice(i, i + 20));
    });
  }

  function get(url, els) {
    url += "/bundle.json?" + els.map((el) => "w=" + encodeURIComponent(el._eerlijk)).join("&");
    fetch(url, { credentials: "omit" })
      .then((r) => { if (!r.ok) throw r.status; return r.json(); })
      .then((data) => {
        els.forEach((el, i) => {
          try {
            var item = data.widgets[i];
            if (item && typeof item.html == "string") fill(el, item.html); else failed([el]);
          } catch (x) { failed([el]); }
        });
      })
      .catch(() => failed(els));
  }

  // Fill placeholders under root that are new, changed or failed.
  function render(root) {
    try {
      root = root || d;
      var all = [...root.querySelectorAll("[" + P + "]")];
      if (root.matches && root.matches("[" + P + "]")) all.push(root);
      load(all.filter((el) => el._eerlijk !== spec(el) || el.getAttribute(S) == "error"));
    } catch (x) { /* keep the host page safe */ }
  }

  w.Eerlijk = { render: render };
  if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", () => render());
  else render();
})(window, document);
