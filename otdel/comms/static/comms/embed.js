/* Otdel web form for any website: draws the form into <div data-otdel-form="slug">, sends it as JSON.
 *
 *   <div data-otdel-form="callback"></div>
 *   <script src="https://crm.example.ru/static/comms/embed.js" data-otdel="https://crm.example.ru" async></script>
 *
 * No dependencies. Labels and messages come from the server in the page's language (<html lang>).
 * UTM tags are taken from the page address and remembered for the visit, so a visitor who lands on
 * one page and submits on another still brings the campaign along.
 */
(function () {
  "use strict";

  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
  var STORE = "otdel_utm";
  var script = document.currentScript || document.querySelector("script[data-otdel]");
  var base = "";
  if (script) {
    base = script.getAttribute("data-otdel") || new URL(script.src, location.href).origin;
  }
  base = base.replace(/\/+$/, "");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== undefined && attrs[key] !== null && attrs[key] !== false) node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) node.textContent = text; // never innerHTML: texts come from users
    return node;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var s = "";
    for (var i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
    return s;
  }

  function utm() {
    var params = new URLSearchParams(location.search);
    var found = {};
    UTM.forEach(function (name) {
      if (params.get(name)) found[name] = params.get(name);
    });
    try {
      if (Object.keys(found).length) sessionStorage.setItem(STORE, JSON.stringify(found));
      else found = JSON.parse(sessionStorage.getItem(STORE) || "{}");
    } catch (e) {
      /* storage switched off: use what the address has */
    }
    return found;
  }

  function language(container) {
    return container.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "";
  }

  function headers(container, extra) {
    var h = { Accept: "application/json" };
    var lang = language(container);
    if (lang) h["Accept-Language"] = lang;
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }

  function injectStyle() {
    if (document.getElementById("otdel-form-style")) return;
    var css =
      ".otdel-form{font:inherit;max-width:36rem}.otdel-form .otdel-row{margin:0 0 .9rem}" +
      ".otdel-form label{display:block;margin:0 0 .25rem}.otdel-form .otdel-check label{display:inline}" +
      ".otdel-form input[type=text],.otdel-form input[type=tel],.otdel-form input[type=email],.otdel-form input[type=date]," +
      ".otdel-form select,.otdel-form textarea{box-sizing:border-box;width:100%;padding:.4rem .6rem;font:inherit}" +
      ".otdel-form [hidden]{display:none!important}.otdel-form .otdel-invalid{border-color:#dc3545}" +
      ".otdel-form .otdel-error{display:block;color:#dc3545;font-size:.875em;margin-top:.2rem}" +
      ".otdel-form .otdel-consent-text{max-height:8rem;overflow:auto;white-space:pre-line;font-size:.8em;opacity:.8;" +
      "border:1px solid rgba(0,0,0,.15);padding:.4rem;margin-top:.3rem}" +
      ".otdel-form .otdel-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" +
      ".otdel-form .otdel-alert{color:#dc3545;margin:0 0 .9rem}.otdel-form .otdel-hint{font-size:.875em;opacity:.75}";
    var style = el("style", { id: "otdel-form-style" }, css);
    document.head.appendChild(style);
  }

  function render(container, def) {
    var slug = def.slug;
    var form = el("form", { "class": "otdel-form", novalidate: "novalidate", "data-otdel-slug": slug });
    var inputs = {};
    var errorBoxes = {};
    var idempotencyKey = uuid();

    form.appendChild(el("div", { "class": "otdel-alert", role: "alert", hidden: "hidden" }));
    form.appendChild(el("p", { "class": "otdel-hint" }, def.labels.reach_hint));

    def.fields.forEach(function (f) {
      var id = "otdel-" + slug + "-" + f.name;
      var row = el("div", { "class": f.type === "checkbox" ? "otdel-row otdel-check mb-3 form-check" : "otdel-row mb-3" });
      var label = el("label", { "for": id, "class": f.type === "checkbox" ? "form-check-label" : "form-label" },
        f.label + (f.required ? " *" : ""));
      var input;
      if (f.type === "textarea") {
        input = el("textarea", { id: id, name: f.name, rows: "4", "class": "form-control" });
      } else if (f.type === "select") {
        input = el("select", { id: id, name: f.name, "class": "form-select" });
        input.appendChild(el("option", { value: "" }, "—"));
        (f.options || []).forEach(function (o) { input.appendChild(el("option", { value: o }, o)); });
      } else if (f.type === "checkbox") {
        input = el("input", { id: id, name: f.name, type: "checkbox", "class": "form-check-input" });
      } else {
        input = el("input", {
          id: id, name: f.name, "class": "form-control",
          type: f.type === "number" ? "text" : f.type,
          inputmode: f.type === "number" ? "decimal" : null,
          autocomplete: f.autocomplete || null
        });
      }
      if (f.type === "checkbox") { row.appendChild(input); row.appendChild(label); }
      else { row.appendChild(label); row.appendChild(input); }
      var err = el("div", { "class": "otdel-error invalid-feedback", hidden: "hidden" });
      row.appendChild(err);
      inputs[f.name] = input;
      errorBoxes[f.name] = err;
      form.appendChild(row);
    });

    var versions = {};
    var consentRows = el("div", {});
    function drawConsents(consents) {
      consentRows.textContent = "";
      consents.forEach(function (c) {
        var id = "otdel-" + slug + "-consent-" + c.code;
        versions[c.code] = c.version;
        var row = el("div", { "class": "otdel-row otdel-check mb-3 form-check" });
        var box = el("input", { id: id, type: "checkbox", "class": "form-check-input", "data-consent": c.code });
        row.appendChild(box);
        row.appendChild(el("label", { "for": id, "class": "form-check-label" }, def.labels.consent + ": " + c.title + " *"));
        row.appendChild(el("div", { "class": "otdel-consent-text" }, c.text));
        var err = el("div", { "class": "otdel-error invalid-feedback", hidden: "hidden" });
        row.appendChild(err);
        inputs["consents." + c.code] = box;
        errorBoxes["consents." + c.code] = err;
        consentRows.appendChild(row);
      });
    }
    drawConsents(def.consents);
    form.appendChild(consentRows);

    // Humans never see this field; bots that fill every input give themselves away.
    var hp = el("div", { "class": "otdel-hp", "aria-hidden": "true" });
    hp.appendChild(el("input", { type: "text", name: def.honeypot, tabindex: "-1", autocomplete: "off" }));
    form.appendChild(hp);

    var button = el("button", { type: "submit", "class": "btn btn-primary" }, def.labels.submit);
    form.appendChild(button);

    function clearErrors() {
      form.querySelector(".otdel-alert").hidden = true;
      Object.keys(errorBoxes).forEach(function (name) {
        errorBoxes[name].hidden = true;
        errorBoxes[name].textContent = "";
        inputs[name].classList.remove("otdel-invalid", "is-invalid");
      });
    }

    function showErrors(errors) {
      var general = [];
      Object.keys(errors || {}).forEach(function (name) {
        var text = (errors[name] || []).join(" ");
        if (errorBoxes[name]) {
          errorBoxes[name].textContent = text;
          errorBoxes[name].hidden = false;
          inputs[name].classList.add("otdel-invalid", "is-invalid");
        } else {
          general.push(text);
        }
      });
      var alert = form.querySelector(".otdel-alert");
      alert.textContent = [def.labels.fix_errors].concat(general).join(" ");
      alert.hidden = false;
    }

    function collect() {
      var data = { consents: {}, consent_versions: versions, page_url: location.href };
      def.fields.forEach(function (f) {
        var input = inputs[f.name];
        data[f.name] = f.type === "checkbox" ? input.checked : input.value;
      });
      def.consents.forEach(function (c) { data.consents[c.code] = inputs["consents." + c.code].checked; });
      data[def.honeypot] = form.querySelector("[name='" + def.honeypot + "']").value;
      var tags = utm();
      UTM.forEach(function (name) { if (tags[name]) data[name] = tags[name]; });
      return data;
    }

    function refreshConsents() {
      // The wording changed while the page was open: show the new text, the visitor confirms again.
      return fetch(base + "/api/v1/forms/" + encodeURIComponent(slug) + "/public", { headers: headers(container) })
        .then(function (r) { return r.json(); })
        .then(function (fresh) { def.consents = fresh.consents; drawConsents(fresh.consents); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors();
      button.disabled = true;
      button.textContent = def.labels.sending;
      fetch(base + "/api/v1/forms/" + encodeURIComponent(slug) + "/submissions", {
        method: "POST",
        headers: headers(container, { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey }),
        body: JSON.stringify(collect())
      })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.status === 201) {
              var done = el("div", { "class": "otdel-thanks alert alert-success", role: "status" }, body.message || def.success_message);
              container.replaceChildren(done);
              return;
            }
            idempotencyKey = uuid();
            var after = body.code === "consent_text_changed" ? refreshConsents() : Promise.resolve();
            return after.then(function () {
              showErrors(body.errors || { __all__: [def.labels.network_error] });
            });
          });
        })
        .catch(function () {
          showErrors({ __all__: [def.labels.network_error] });
        })
        .then(function () {
          button.disabled = false;
          button.textContent = def.labels.submit;
        });
    });

    container.replaceChildren(form);
  }

  function init(container) {
    if (container.getAttribute("data-otdel-ready")) return;
    container.setAttribute("data-otdel-ready", "1");
    var slug = container.getAttribute("data-otdel-form");
    injectStyle();
    fetch(base + "/api/v1/forms/" + encodeURIComponent(slug) + "/public", { headers: headers(container) })
      .then(function (response) {
        if (!response.ok) throw new Error("form " + slug + ": HTTP " + response.status);
        return response.json();
      })
      .then(function (def) { render(container, def); })
      .catch(function (error) {
        if (window.console) console.error("Otdel form:", error);
      });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-otdel-form]"), init);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
