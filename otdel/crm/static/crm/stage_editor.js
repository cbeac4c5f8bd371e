// The stages editor: drag a stage by its handle to reorder; the new order is saved at once.
(function () {
  "use strict";

  const list = document.getElementById("stage-list");
  if (!list || typeof Sortable === "undefined") {
    return;
  }
  const alertBox = document.getElementById("stage-alert");

  function say(message, kind) {
    alertBox.innerHTML = "";
    const box = document.createElement("div");
    box.className = "alert alert-" + kind + " py-2";
    box.setAttribute("role", kind === "danger" ? "alert" : "status");
    box.dataset.testid = "stage-order-" + (kind === "danger" ? "error" : "saved");
    box.textContent = message;
    alertBox.appendChild(box);
  }

  function order() {
    return Array.from(list.querySelectorAll(".stage-row")).map(function (row) {
      return Number(row.dataset.stageId);
    });
  }

  let saved = order();
  Sortable.create(list, {
    handle: ".stage-handle",
    forceFallback: true, // mouse events: the same in every browser and in the browser tests
    animation: 150,
    onEnd: function () {
      const wanted = order();
      if (wanted.join() === saved.join()) {
        return;
      }
      fetch(list.dataset.reorderUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": list.dataset.csrf },
        body: JSON.stringify({ stages: wanted }),
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (result) {
          if (!result.ok) {
            throw new Error(result.body.message);
          }
          saved = wanted;
          say(result.body.message, "success");
        })
        .catch(function (error) {
          say(error.message, "danger");
          // Back to the order the server has.
          saved.forEach(function (id) {
            list.appendChild(list.querySelector('.stage-row[data-stage-id="' + id + '"]'));
          });
        });
    },
  });
})();
