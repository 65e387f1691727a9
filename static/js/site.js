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

  // @mentions: while "@lan" is being typed in a post or comment box, offer matching members;
  // a tap puts the whole name in. Without JavaScript, members type names themselves.
  document.querySelectorAll("textarea[name=body]").forEach(function (area) {
    var list = document.createElement("div");
    list.className = "mention-list";
    list.hidden = true;
    area.insertAdjacentElement("afterend", list);
    function typedName() {
      var before = area.value.slice(0, area.selectionStart);
      var match = /(^|[^\w.@])@([a-z0-9_.]{1,30})$/i.exec(before);
      return match ? match[2] : null;
    }
    var lookup = debounce(function () {
      var name = typedName();
      if (!name) { list.hidden = true; return; }
      fetch("/users/complete?q=" + encodeURIComponent(name))
        .then(function (r) { return r.ok ? r.json() : { users: [] }; })
        .then(function (data) {
          list.innerHTML = "";
          data.users.forEach(function (user) {
            var button = document.createElement("button");
            button.type = "button";
            button.className = "button";
            button.textContent = "@" + user.username + " · " + user.name;
            button.addEventListener("click", function () {
              var caret = area.selectionStart;
              var start = caret - (typedName() || "").length;
              area.value = area.value.slice(0, start) + user.username + " " + area.value.slice(caret);
              area.focus();
              area.selectionStart = area.selectionEnd = start + user.username.length + 1;
              list.hidden = true;
            });
            list.appendChild(button);
          });
          list.hidden = data.users.length === 0;
        })
        .catch(function () {});
    }, 250);
    area.addEventListener("input", lookup);
    area.addEventListener("keydown", function (event) {
      if (event.key === "Escape") list.hidden = true;
    });
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
    part.appendChild(el("h2", {}, heading));
    var list = el("ul");
    items.forEach(function (item) { list.appendChild(item); });
    part.appendChild(list);
  }
  function addTag(name) {
    var current = tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    if (current.map(function (t) { return t.toLowerCase(); }).indexOf(name.toLowerCase()) === -1) current.push(name);
    tags.value = current.join(", ");
  }

  function debounce(fn, ms) {
    var timer;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  var similarBox = document.getElementById("similar-live");
  var privacyBox = document.getElementById("privacy-live");

  function showSimilar(data) {
    if (!similarBox) return;
    var s = similarBox.dataset;
    similarBox.innerHTML = "";
    if (data.similar.length) {
      similarBox.appendChild(el("p", { "class": "similar-title" }, s.title));
      var list = el("ul");
      data.similar.forEach(function (q) {
        var li = el("li"); li.appendChild(el("a", { href: q.url, target: "_blank", rel: "noopener" }, q.title));
        li.appendChild(document.createTextNode(" · " + q.answer_count + " " + s.answers + (q.has_accepted_answer ? " · ✓ " + s.solved : "")));
        list.appendChild(li);
      });
      similarBox.appendChild(list);
    } else if (data.index_ready === false) {
      similarBox.appendChild(el("p", { "class": "similar-title" }, s.preparing));
    }
    similarBox.hidden = !similarBox.childNodes.length;
  }

  function showPrivacy(advice) {
    if (!privacyBox) return;
    var warning = advice.filter(function (a) { return a.code === "personal_data"; })[0];
    privacyBox.textContent = warning ? "⚠ " + warning.message : "";
    privacyBox.hidden = !warning;
  }

  function ask() {
    var payload = JSON.stringify({ title: title.value, body: body.value });
    if (title.value.trim().length < 8 || payload === lastSent) return;
    lastSent = payload;
    fetch("/api/v1/questions/assist", { method: "POST", headers: { "Content-Type": "application/json" }, body: payload })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        showSimilar(data);
        showPrivacy(data.advice);
        section("advice", labels.adviceTitle, data.advice.filter(function (a) { return a.code !== "personal_data"; }).map(function (a) {
          return el("li", { "class": a.level === "warning" ? "advice-warning" : "" }, a.message);
        }));
        section("answers", labels.answersTitle, data.answers.map(function (s) {
          var li = el("li"); var a = el("a", { href: s.url, target: "_blank", rel: "noopener" }, s.title);
          li.appendChild(a); if (s.passage) li.appendChild(el("blockquote", { "class": "passage" }, s.passage));
          return li;
        }));
        if (data.answers.length) panel.querySelector('[data-part="answers"] h2').insertAdjacentElement("afterend", el("p", { "class": "auto-label" }, labels.autoLabel));
        tagBox.innerHTML = "";
        if (data.tags.length) {
          tagBox.appendChild(document.createTextNode(labels.tagsTitle + " "));
          data.tags.forEach(function (t) {
            var b = el("button", { type: "button", "class": "button tag-suggest" }, "+ " + t.name);
            b.addEventListener("click", function () { addTag(t.name); });
            tagBox.appendChild(b);
          });
        }
        panel.hidden = !(panel.querySelector('[data-part="advice"]').childNodes.length || data.answers.length);
        // The member has seen similar questions and advice, so the form need not stop at the
        // check step for them. Personal data still stops it: the server asks for that itself.
        document.getElementById("ask-confirmed").value = "1";
      })
      .catch(function () {});
  }
  // The title gets its similar questions quickly, while it is being typed; the body less often.
  var check = debounce(ask, 700);
  title.addEventListener("input", debounce(ask, 450));
  body.addEventListener("input", check);
  if (title.value.trim().length >= 8) ask();
})();

// Drafts: what a member types into a form with data-draft is kept in this browser until the
// server says the post went through (a data-draft-done marker on the next page). A failed
// post, a lost connection or a reload brings it back.
(function () {
  "use strict";
  var PREFIX = "xutra:draft:";
  var MAX_AGE = 30 * 86400 * 1000;
  var store;
  try { store = window.localStorage; store.getItem("x"); } catch (e) { return; }

  document.querySelectorAll("[data-draft-done]").forEach(function (marker) {
    store.removeItem(PREFIX + marker.dataset.draftDone);
  });
  // Old drafts are forgotten after a month.
  for (var i = store.length - 1; i >= 0; i--) {
    var name = store.key(i);
    if (name && name.indexOf(PREFIX) === 0) {
      try { if (Date.now() - JSON.parse(store.getItem(name)).at > MAX_AGE) store.removeItem(name); }
      catch (e) { store.removeItem(name); }
    }
  }

  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = PREFIX + form.dataset.draft;
    var fields = Array.prototype.filter.call(form.elements, function (f) {
      return f.name && !f.readOnly && (f.tagName === "TEXTAREA" || f.type === "text") && f.name !== "csrf_token";
    });
    if (!fields.length) return;
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    var empty = fields.every(function (f) { return !f.value.trim(); });
    if (saved && saved.values && empty && fields.some(function (f) { return saved.values[f.name]; })) {
      fields.forEach(function (f) { if (saved.values[f.name]) f.value = saved.values[f.name]; });
      var note = document.createElement("p");
      note.className = "draft-note";
      note.setAttribute("role", "status");
      note.textContent = document.body.dataset.draftRestored;
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link-button";
      discard.textContent = document.body.dataset.draftDiscard;
      discard.addEventListener("click", function () {
        store.removeItem(key);
        fields.forEach(function (f) { f.value = ""; });
        note.remove();
      });
      note.appendChild(document.createTextNode(" "));
      note.appendChild(discard);
      form.insertBefore(note, form.firstChild);
      var details = form.closest("details");
      if (details) details.open = true;
    }
    function save() {
      var values = {};
      fields.forEach(function (f) { values[f.name] = f.value; });
      try { store.setItem(key, JSON.stringify({ at: Date.now(), values: values })); } catch (e) {}
    }
    var timer;
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 300); });
    form.addEventListener("submit", save);  // kept until the next page says it went through
  });
})();

// Personal data in an answer: said right under the box, while typing.
(function () {
  "use strict";
  document.querySelectorAll("textarea[data-privacy-check]").forEach(function (area) {
    var box = document.getElementById(area.dataset.privacyCheck);
    if (!box) return;
    var last = "";
    area.addEventListener("input", function () {
      clearTimeout(area._privacyTimer);
      area._privacyTimer = setTimeout(function () {
        if (area.value === last) return;
        last = area.value;
        fetch("/api/v1/personal-data", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: area.value }) })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data) return;
            box.textContent = data.message ? "⚠ " + data.message : "";
            box.hidden = !data.message;
          })
          .catch(function () {});
      }, 600);
    });
  });
})();

// Sign-up: a display name such as "Bà Nga Đồng Hỷ" fills in a free username (ba_nga_dong_hy)
// while the username box is empty or still holds the last suggestion.
(function () {
  "use strict";
  var name = document.getElementById("display_name"), username = document.getElementById("username");
  if (!name || !username || !username.form || !username.form.hasAttribute("data-suggest-username")) return;
  var suggested = "";
  name.addEventListener("input", function () {
    clearTimeout(name._timer);
    name._timer = setTimeout(function () {
      if (username.value && username.value !== suggested) return;
      fetch("/register/username?name=" + encodeURIComponent(name.value))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || (username.value && username.value !== suggested)) return;
          suggested = data.username || "";
          username.value = suggested;
        })
        .catch(function () {});
    }, 400);
  });
})();
