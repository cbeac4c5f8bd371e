// The ringing call on screen: a card per call, fetched from the server (scoped like any page) each
// time the call's state moves forward; a late or repeated event never moves it back.
(function () {
  "use strict";
  var stack = document.getElementById("live-calls");
  if (!stack) return;
  var RANK = { ringing: 1, answered: 2, ended: 3 };
  var calls = {};

  function cardFor(key) {
    var el = stack.querySelector('[data-call-key="' + CSS.escape(key) + '"]');
    if (!el) {
      el = document.createElement("div");
      el.className = "live-call";
      el.dataset.callKey = key;
      stack.prepend(el);
    }
    return el;
  }

  function show(call) {
    var params = new URLSearchParams({ key: call.key, phone: call.phone || "", state: call.state, status: call.status || "" });
    var el = cardFor(call.key);
    fetch(stack.dataset.cardUrl + "?" + params.toString(), { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (calls[call.key] !== call) return; // a newer state is on its way
        el.innerHTML = html;
        if (window.htmx) window.htmx.process(el);
      })
      .catch(function () {});
  }

  document.addEventListener("otdel:live:call", function (event) {
    var call = event.detail;
    if (!call || !call.key || !RANK[call.state]) return;
    var known = calls[call.key];
    if (known && RANK[known.state] > RANK[call.state]) return;
    if (known && known.state === call.state && (known.status || "") === (call.status || "")) return;
    calls[call.key] = call;
    show(call);
  });

  stack.addEventListener("click", function (event) {
    var close = event.target.closest("[data-live-close]");
    if (!close) return;
    var card = close.closest(".live-call");
    if (card) card.remove();
  });
})();
