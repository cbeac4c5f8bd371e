/* The rule editor: conditions in AND/OR groups with field and operator pickers, and a list of
   actions with their parameters. It writes the JSON the server validates into the form's
   "conditions" and "actions" fields (which stay usable by hand when this script does not run). */
(function () {
  "use strict";
  var optionsNode = document.getElementById("rule-editor-options");
  var form = document.querySelector("form[data-rule-editor]");
  if (!optionsNode || !form) { return; }
  var O = JSON.parse(optionsNode.textContent);
  var L = O.labels;
  var conditionsInput = form.querySelector("textarea[name=conditions]");
  var actionsInput = form.querySelector("textarea[name=actions]");
  var eventSelect = form.querySelector("select[name=event]");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function select(choices, value, attrs, blank) {
    var s = el("select", Object.assign({"class": "form-select form-select-sm"}, attrs || {}));
    if (blank) { s.appendChild(el("option", {value: "", text: blank})); }
    choices.forEach(function (c) {
      var o = el("option", {value: String(c[0]), text: c[1]});
      if (String(c[0]) === String(value)) { o.selected = true; }
      s.appendChild(o);
    });
    return s;
  }
  function input(value, attrs) {
    var i = el("input", Object.assign({"class": "form-control form-control-sm", type: "text"}, attrs || {}));
    i.value = value === undefined || value === null ? "" : String(value);
    return i;
  }
  function button(text, testid, cls) {
    return el("button", {type: "button", "class": "btn btn-sm " + (cls || "btn-outline-secondary"), "data-testid": testid, text: text});
  }
  function parse(textarea) {
    try { var v = JSON.parse(textarea.value || "[]"); return Array.isArray(v) ? v : []; } catch (e) { return []; }
  }
  function fieldChoices() {
    var kind = (eventSelect && eventSelect.value || "").split(".")[0];
    if (O.fields[kind]) { return O.fields[kind]; }
    var seen = {}, all = [];
    Object.keys(O.fields).forEach(function (k) {
      O.fields[k].forEach(function (f) { if (!seen[f[0]]) { seen[f[0]] = 1; all.push(f); } });
    });
    return all.sort(function (a, b) { return a[1].localeCompare(b[1]); });
  }

  /* --- conditions --- */
  function conditionRow(cond) {
    var row = el("div", {"class": "d-flex gap-2 mb-1 align-items-center", "data-testid": "condition-row", "data-kind": "condition"});
    var field = select(fieldChoices(), cond.field, {"data-role": "field", "aria-label": L.field});
    var op = select(O.ops, cond.op || "eq", {"data-role": "op", "aria-label": L.op});
    var value = cond.value;
    if (Array.isArray(value)) { value = value.join(", "); }
    var val = input(value, {"data-role": "value", placeholder: L.value, "aria-label": L.value});
    function toggle() { val.style.visibility = (op.value === "empty" || op.value === "not_empty") ? "hidden" : "visible"; }
    op.addEventListener("change", toggle); toggle();
    var remove = button("×", "condition-remove", "btn-outline-danger");
    remove.setAttribute("aria-label", L.remove);
    remove.addEventListener("click", function () { row.remove(); sync(); });
    [field, op, val].forEach(function (n) { n.addEventListener("change", sync); n.addEventListener("input", sync); });
    row.append(field, op, val, remove);
    return row;
  }
  function group(mode, items, nested) {
    var box = el("div", {"class": "border rounded p-2 mb-2" + (nested ? " ms-4 bg-light" : ""), "data-testid": nested ? "condition-group" : "condition-root", "data-kind": "group"});
    var head = el("div", {"class": "d-flex gap-2 align-items-center mb-2"});
    var modeSelect = select([["all", L.all], ["any", L.any]], mode, {"data-role": "mode", "data-testid": "group-mode", "style": "max-width: 22rem"});
    modeSelect.addEventListener("change", sync);
    head.appendChild(modeSelect);
    var list = el("div", {"data-role": "items"});
    var addCondition = button(L.add_condition, "condition-add");
    addCondition.addEventListener("click", function () { list.appendChild(conditionRow({})); sync(); });
    head.appendChild(addCondition);
    if (!nested) {
      var addGroup = button(L.add_group, "group-add");
      addGroup.addEventListener("click", function () { list.appendChild(group("any", [{}], true)); sync(); });
      head.appendChild(addGroup);
    } else {
      var removeGroup = button(L.remove, "group-remove", "btn-outline-danger");
      removeGroup.addEventListener("click", function () { box.remove(); sync(); });
      head.appendChild(removeGroup);
    }
    box.append(head, list);
    items.forEach(function (item) {
      if (item && (item.any || item.all)) {
        list.appendChild(nested ? conditionRow({}) : group(item.any ? "any" : "all", item.any || item.all, true));
      } else {
        list.appendChild(conditionRow(item || {}));
      }
    });
    return box;
  }
  function readGroup(box) {
    var out = [];
    Array.prototype.forEach.call(box.querySelector("[data-role=items]").children, function (child) {
      if (child.dataset.kind === "group") {
        var inner = readGroup(child);
        if (inner.items.length) { var g = {}; g[inner.mode] = inner.items; out.push(g); }
      } else {
        var f = child.querySelector("[data-role=field]").value;
        var op = child.querySelector("[data-role=op]").value;
        var raw = child.querySelector("[data-role=value]").value.trim();
        if (!f) { return; }
        var c = {field: f, op: op};
        if (op === "in" || op === "not_in") { c.value = raw ? raw.split(",").map(function (s) { return s.trim(); }) : []; }
        else if (op !== "empty" && op !== "not_empty") { c.value = raw; }
        out.push(c);
      }
    });
    return {mode: box.querySelector("[data-role=mode]").value, items: out};
  }

  /* --- actions --- */
  var PARAMS = {
    task: [["title", "text"], ["due_in_minutes", "number"], ["assignee", "assignee"]],
    notify: [["to", "to"], ["text", "text"]],
    assign: [["queue", "queue"]],
    move_stage: [["stage", "stage"]],
    send_email: [["subject", "text"], ["body", "textarea"], ["purpose", "purpose"]],
    generate_document: [["template", "template"], ["format", "format"]],
    start_approval: [["route", "number"]],
    webhook: [["url", "text"], ["secret", "text"]]
  };
  function paramInput(name, type, action) {
    var value = action[name];
    var users = O.users.map(function (u) { return ["user:" + u[0], u[1]]; });
    var who = function (v) { return v && typeof v === "object" ? "user:" + v.user : (v || ""); };
    var node;
    if (type === "assignee") { node = select([["responsible", L.responsible]].concat(users), who(value)); }
    else if (type === "to") { node = select(O.to.concat(users), who(value)); }
    else if (type === "queue") { node = select(O.queues, value, {}, L.choose); }
    else if (type === "stage") { node = select(O.stages, value, {}, L.choose); }
    else if (type === "template") { node = select(O.templates, value, {}, L.choose); }
    else if (type === "purpose") { node = select(O.purposes, value, {}, L.no_purpose); }
    else if (type === "format") { node = select([["pdf", "PDF"], ["docx", "DOCX"]], value || "pdf"); }
    else if (type === "textarea") { node = el("textarea", {"class": "form-control form-control-sm", rows: "3"}); node.value = value || ""; }
    else { node = input(value, {type: type === "number" ? "number" : "text"}); }
    node.setAttribute("data-param", name);
    node.setAttribute("data-type", type);
    node.setAttribute("aria-label", L[name] || name);
    node.addEventListener("change", sync); node.addEventListener("input", sync);
    var wrap = el("div", {"class": type === "textarea" ? "col-12" : "col-md-4"}, [el("label", {"class": "form-label small mb-0", text: L[name] || name}), node]);
    if (name === "body") { wrap.appendChild(el("div", {"class": "form-text", text: L.variables + ": " + O.variables.map(function (v) { return "{{ " + v + " }}"; }).join(" ")})); }
    return wrap;
  }
  function actionCard(action) {
    var card = el("div", {"class": "border rounded p-2 mb-2", "data-testid": "action-card"});
    var head = el("div", {"class": "d-flex gap-2 mb-2"});
    var kind = select(O.actions, action.action || "task", {"data-role": "action", "data-testid": "action-kind", "style": "max-width: 22rem"});
    var remove = button(L.remove, "action-remove", "btn-outline-danger");
    remove.addEventListener("click", function () { card.remove(); sync(); });
    head.append(kind, remove);
    var params = el("div", {"class": "row g-2", "data-role": "params"});
    function fill(values) {
      params.textContent = "";
      (PARAMS[kind.value] || []).forEach(function (p) { params.appendChild(paramInput(p[0], p[1], values)); });
    }
    kind.addEventListener("change", function () { fill({}); sync(); });
    fill(action);
    card.append(head, params);
    return card;
  }
  function readAction(card) {
    var a = {action: card.querySelector("[data-role=action]").value};
    card.querySelectorAll("[data-param]").forEach(function (n) {
      var v = n.value, type = n.dataset.type;
      if ((type === "assignee" || type === "to") && v.indexOf("user:") === 0) { a[n.dataset.param] = {user: parseInt(v.slice(5), 10)}; }
      else if (type === "number") { if (v !== "") { a[n.dataset.param] = parseInt(v, 10); } }
      else if ((type === "stage" || type === "template") && v !== "") { a[n.dataset.param] = parseInt(v, 10); }
      else if (type === "purpose") { if (v) { a.purpose = v; } }
      else { a[n.dataset.param] = v; }
    });
    return a;
  }

  /* --- wiring --- */
  var initialConditions = parse(conditionsInput);
  var rootMode = "all", rootItems = initialConditions;
  if (initialConditions.length === 1 && initialConditions[0].any) { rootMode = "any"; rootItems = initialConditions[0].any; }
  function depth(items) {
    return items.reduce(function (d, i) { return Math.max(d, i && (i.any || i.all) ? 1 + depth(i.any || i.all) : 0); }, 0);
  }
  var root = group(rootMode, rootItems, false);
  var actionsBox = el("div", {"data-testid": "actions-editor"});
  var addAction = button(L.add_action, "action-add", "btn-outline-primary");
  addAction.addEventListener("click", function () { actionsBox.appendChild(actionCard({})); sync(); });
  var initialActions = parse(actionsInput);
  (initialActions.length ? initialActions : [{}]).forEach(function (a) { actionsBox.appendChild(actionCard(a)); });

  function sync() {
    if (!conditionsByHand) {
      var read = readGroup(root);
      var conditions = read.mode === "any" && read.items.length ? [{any: read.items}] : read.items;
      conditionsInput.value = conditions.length ? JSON.stringify(conditions) : "";
    }
    actionsInput.value = JSON.stringify(Array.prototype.map.call(actionsBox.children, readAction));
  }
  function mount(name, nodes) {
    var box = form.querySelector("[data-editor-field=" + name + "]");
    box.querySelector("[data-editor-json]").hidden = true;
    nodes.forEach(function (n) { box.appendChild(n); });
  }
  // Groups nest one level here; deeper ones (written through the API) stay as JSON to edit by hand.
  var conditionsByHand = depth(rootItems) > 1;
  if (!conditionsByHand) { mount("conditions", [root]); }
  mount("actions", [actionsBox, addAction]);
  if (eventSelect) {
    eventSelect.addEventListener("change", function () {
      root.querySelectorAll("[data-role=field]").forEach(function (s) {
        var current = s.value, fresh = select(fieldChoices(), current, {"data-role": "field", "aria-label": L.field});
        fresh.addEventListener("change", sync);
        s.replaceWith(fresh);
      });
      sync();
    });
  }
  form.addEventListener("submit", sync);
  sync();
}());
