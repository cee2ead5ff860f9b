// The live count of the post editor (issue 18): every change of the text is counted on
// the server by the composer's own rules for the channel's network, so what the page
// shows is what the post gets. Nothing else runs on the page.
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  if (!form) { return; }
  var text = form.querySelector("textarea[name=text]");
  var save = form.querySelector("button[type=submit]");
  var length = document.getElementById("count-length");
  var limit = document.getElementById("count-limit");
  var problems = document.getElementById("count-problems");
  var url = form.getAttribute("data-count-url");
  var timer = null;
  var asked = 0;

  function show(answer, n) {
    if (n !== asked) { return; } // an older answer arriving late
    length.textContent = String(answer.length);
    limit.textContent = String(answer.limit) + " " + answer.unit;
    length.className = answer.ok ? "" : "over";
    problems.textContent = answer.problems.join("; ");
    save.disabled = !answer.ok;
    form.setAttribute("data-counted", String(answer.length));
  }

  function count() {
    var body = new FormData();
    body.append("channel", form.getAttribute("data-channel"));
    body.append("text", text.value);
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    asked += 1;
    var n = asked;
    form.setAttribute("data-counted", "");
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (answer) { show(answer, n); });
  }

  text.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(count, 120);
  });
}());
