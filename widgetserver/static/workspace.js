/* Eerlijk workspace: tone check as you type, draft button, copy buttons, live snippet builder. No dependencies. */
(function () {
  "use strict";

  function csrf(form) {
    var input = (form || document).querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function postJSON(url, data, form) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(form), "Accept": "application/json"},
      body: JSON.stringify(data)
    }).then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  // --- reply composer ---------------------------------------------------------------
  var composer = document.getElementById("composer");
  if (composer) {
    var body = composer.querySelector("#body");
    var author = composer.querySelector("#author");
    var role = composer.querySelector("#role");
    var list = document.getElementById("tone-list");
    var summary = document.getElementById("tone-summary");
    var seq = 0;

    var render = function (result) {
      list.textContent = "";
      result.findings.forEach(function (f) {
        var li = document.createElement("li");
        li.className = "finding " + (f.passed ? "pass" : "fail");
        li.setAttribute("data-rule", f.rule);
        var icon = document.createElement("span");
        icon.className = "icon"; icon.setAttribute("aria-hidden", "true"); icon.textContent = f.passed ? "✓" : "!";
        var text = document.createElement("span");
        var strong = document.createElement("strong"); strong.textContent = f.title;
        var hidden = document.createElement("span"); hidden.className = "visually-hidden";
        hidden.textContent = " " + (f.passed ? composer.dataset.msgPassed : composer.dataset.msgFailed) + ": ";
        text.appendChild(strong); text.appendChild(hidden); text.appendChild(document.createTextNode(" " + f.message));
        li.appendChild(icon); li.appendChild(text); list.appendChild(li);
      });
      summary.textContent = result.problems ? composer.dataset.msgImprove.replace("{n}", result.problems)
                                            : composer.dataset.msgGood;
      summary.className = "tone-summary " + (result.problems ? "has-problems" : "all-good");
    };

    var check = function () {
      var mine = ++seq;
      postJSON(composer.dataset.toneUrl, {body: body.value, author: author.value, role: role.value,
                                          review_id: composer.dataset.reviewId}, composer)
        .then(function (result) { if (mine === seq) { render(result); } })
        .catch(function () { /* the Check tone button still works without this */ });
    };
    var checkSoon = debounce(check, 350);
    [body, author, role].forEach(function (el) { el.addEventListener("input", checkSoon); });

    var draftButton = document.getElementById("draft-button");
    draftButton.addEventListener("click", function (event) {
      event.preventDefault();
      if (body.value.trim() && !window.confirm(composer.dataset.msgConfirm)) { return; }
      draftButton.disabled = true;
      postJSON(composer.dataset.draftUrl, {author: author.value, role: role.value}, composer)
        .then(function (result) { body.value = result.body; body.focus(); check(); })
        .catch(function () { composer.requestSubmit(draftButton); })
        .finally(function () { draftButton.disabled = false; });
    });
    document.getElementById("check-button").addEventListener("click", function (event) {
      event.preventDefault(); check();
    });
  }

  // --- copy buttons ---------------------------------------------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      var copied = document.body.dataset.msgCopied;
      var done = function () { if (status) { status.textContent = copied; } button.textContent = copied + " ✓"; };
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else { document.execCommand("copy"); done(); }
    });
  });

  // --- snippet builder: live preview ------------------------------------------------------
  var builder = document.getElementById("builder");
  if (builder) {
    var frame = document.getElementById("preview");
    var update = debounce(function () {
      var query = new URLSearchParams(new FormData(builder)).toString();
      var url = builder.action + "?" + query;
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          document.getElementById("code-snippet").value = data.snippet;
          document.getElementById("code-ssi").value = data.ssi;
          document.getElementById("code-esi").value = data.esi;
          frame.src = data.preview_url;
          history.replaceState(null, "", url);
        }).catch(function () {});
    }, 300);
    builder.addEventListener("input", update);
    builder.addEventListener("change", update);
    var fit = function () {
      try { frame.style.height = Math.max(240, frame.contentDocument.documentElement.scrollHeight + 8) + "px"; } catch (e) {}
    };
    frame.addEventListener("load", function () { fit(); setTimeout(fit, 600); setTimeout(fit, 2000); });
  }
})();
