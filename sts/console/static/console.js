// credbroker IAM console: the policy editor checks the draft as you type, with the
// policy engine's own messages and their line:column (POST /console/validate).
"use strict";
(function () {
  function offsetOf(text, line, col) {
    var lines = text.split("\n"), off = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
    return off + Math.max(col - 1, 0);
  }
  function setup(form) {
    var area = form.querySelector("textarea.policy-editor");
    var list = form.querySelector(".faults");
    var csrf = form.querySelector("input[name=csrf]");
    if (!area || !list || !csrf) return;
    var timer = null, seq = 0;
    function show(faults) {
      list.textContent = "";
      area.setAttribute("aria-invalid", faults.length ? "true" : "false");
      faults.forEach(function (f) {
        var li = document.createElement("li");
        var where = f.line ? "Line " + f.line + ", column " + f.column + ": " : "";
        var b = document.createElement("button");
        b.type = "button";
        b.className = "fault";
        b.textContent = where + f.message;
        b.addEventListener("click", function () {
          area.focus();
          if (f.line) {
            var o = offsetOf(area.value, f.line, f.column);
            area.setSelectionRange(o, o + 1);
          }
        });
        li.appendChild(b);
        list.appendChild(li);
      });
      form.dataset.checked = String(++seq);
    }
    function check() {
      fetch("/console/validate", {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf.value},
        body: JSON.stringify({Document: area.value, Kind: form.dataset.kind || "identity"})
      }).then(function (r) { return r.json(); })
        .then(function (j) { show(j.faults || []); })
        .catch(function () {});
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
    if (area.value.trim() !== "") check();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.editor-form").forEach(setup);
    // A failed action: move the focus to its message, for keyboards and screen readers.
    var err = document.getElementById("error");
    if (err) {
      err.setAttribute("tabindex", "-1");
      err.focus();
    }
  });
})();
