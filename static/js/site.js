// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  // Live Markdown preview, rendered by the server exactly as it will be stored.
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var box = document.getElementById(area.dataset.preview);
    if (!box) return;
    var render = debounce(function () {
      if (!area.value.trim()) { box.hidden = true; return; }
      var body = new URLSearchParams({ body: area.value });
      fetch("/preview", { method: "POST", body: body, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { box.innerHTML = html; box.hidden = !html; })
        .catch(function () {});
    }, 500);
    area.addEventListener("input", render);
  });

  // Tag autocomplete on the last comma-separated tag being typed.
  document.querySelectorAll("input[data-tag-complete]").forEach(function (input) {
    var list = document.createElement("datalist");
    list.id = input.id + "-options";
    document.body.appendChild(list);
    input.setAttribute("list", list.id);
    var lookup = debounce(function () {
      var parts = input.value.split(",");
      var current = parts.pop().trim();
      if (current.length < 1) return;
      var prefix = parts.map(function (p) { return p.trim(); }).filter(Boolean);
      fetch("/api/v1/tags?q=" + encodeURIComponent(current))
        .then(function (r) { return r.json(); })
        .then(function (data) {
          list.innerHTML = "";
          data.tags.forEach(function (tag) {
            var option = document.createElement("option");
            option.value = prefix.concat([tag.name]).join(", ");
            option.label = tag.name + " (" + tag.count + ")";
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 250);
    input.addEventListener("input", lookup);
  });

  // Ask before deleting.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();

// Review queue from the keyboard: j/k move between cases, a approves, r opens reject, d dismisses.
(function () {
  "use strict";
  var cases = Array.prototype.slice.call(document.querySelectorAll("li.case"));
  if (!cases.length) return;
  var current = 0;
  function focus(i) {
    current = Math.max(0, Math.min(cases.length - 1, i));
    cases[current].focus();
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    var item = cases[current];
    var key = event.key;
    if (key === "j") { focus(current + 1); }
    else if (key === "k") { focus(current - 1); }
    else if (key === "a" || key === "d") {
      var button = item.querySelector('[data-key="' + key + '"]');
      if (button) button.click();
    } else if (key === "r") {
      var box = item.querySelector("details.reject-box");
      if (box) { box.open = true; var note = box.querySelector('input[name="note"]'); if (note) note.focus(); event.preventDefault(); }
    } else { return; }
  });
})();

// The question assistant on the ask page: advice, tags, similar questions, past answers.
(function () {
  "use strict";
  var form = document.getElementById("ask-form");
  var panel = document.getElementById("assistant");
  if (!form || !panel) return;
  var title = form.querySelector("#title"), body = form.querySelector("#body"), tags = form.querySelector("#tags");
  var tagBox = document.getElementById("tag-suggestions");
  var labels = panel.dataset;
  var lastSent = "";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }
  function section(name, heading, items) {
    var part = panel.querySelector('[data-part="' + name + '"]');
    part.innerHTML = "";
    if (!items.length) return;
    part.appendChild(el("h3", {}, heading));
    var list = el("ul");
    items.forEach(function (item) { list.appendChild(item); });
    part.appendChild(list);
  }
  function addTag(name) {
    var current = tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    if (current.map(function (t) { return t.toLowerCase(); }).indexOf(name.toLowerCase()) === -1) current.push(name);
    tags.value = current.join(", ");
  }

  var check = (function () {
    var timer;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var payload = JSON.stringify({ title: title.value, body: body.value });
        if (title.value.trim().length < 8 || payload === lastSent) return;
        lastSent = payload;
        fetch("/api/v1/questions/assist", { method: "POST", headers: { "Content-Type": "application/json" }, body: payload })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data) return;
            section("advice", labels.adviceTitle, data.advice.map(function (a) {
              return el("li", { "class": a.level === "warning" ? "advice-warning" : "" }, a.message);
            }));
            section("similar", labels.similarTitle, data.similar.map(function (q) {
              var li = el("li"); var a = el("a", { href: q.url, target: "_blank", rel: "noopener" }, q.title);
              li.appendChild(a); li.appendChild(document.createTextNode(" · " + q.answer_count + " " + labels.answers + (q.has_accepted_answer ? " ✓" : "")));
              return li;
            }));
            section("answers", labels.answersTitle, data.answers.map(function (s) {
              var li = el("li"); var a = el("a", { href: s.url, target: "_blank", rel: "noopener" }, s.title);
              li.appendChild(a); if (s.passage) li.appendChild(el("blockquote", { "class": "passage" }, s.passage));
              return li;
            }));
            if (data.answers.length) panel.querySelector('[data-part="answers"] h3').insertAdjacentElement("afterend", el("p", { "class": "auto-label" }, labels.autoLabel));
            tagBox.innerHTML = "";
            if (data.tags.length) {
              tagBox.appendChild(document.createTextNode(labels.tagsTitle + " "));
              data.tags.forEach(function (t) {
                var b = el("button", { type: "button", "class": "button tag-suggest" }, "+ " + t.name);
                b.addEventListener("click", function () { addTag(t.name); });
                tagBox.appendChild(b);
              });
            }
            panel.hidden = !(data.advice.length || data.similar.length || data.answers.length);
            // The member has seen the assistant, so the form need not stop at the check step.
            document.getElementById("ask-confirmed").value = "1";
          })
          .catch(function () {});
      }, 700);
    };
  })();
  title.addEventListener("input", check);
  body.addEventListener("input", check);
})();
