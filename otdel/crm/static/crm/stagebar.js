// The deal card's stage bar: one click moves the deal (POST to the kanban's move endpoint); a lost
// stage asks for the reason first; a refusal (a required checklist item, someone else's edit) is shown.
(function () {
  "use strict";

  const bar = document.getElementById("stage-bar");
  if (!bar) {
    return;
  }
  const alertBox = document.getElementById("stage-bar-alert");
  const lostModalEl = document.getElementById("lost-modal");
  const lostForm = document.getElementById("lost-form");
  const lostReason = document.getElementById("lost-reason");
  const lostComment = document.getElementById("lost-comment");
  const lostModal = bootstrap.Modal.getOrCreateInstance(lostModalEl);
  let pendingStage = null;

  function showError(message) {
    alertBox.innerHTML = "";
    const box = document.createElement("div");
    box.className = "alert alert-danger alert-dismissible fade show";
    box.setAttribute("role", "alert");
    box.dataset.testid = "stage-bar-error";
    box.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    box.appendChild(close);
    alertBox.appendChild(box);
  }

  function move(stage, extra) {
    const body = new URLSearchParams(Object.assign({ stage: stage, version: bar.dataset.version }, extra || {}));
    bar.setAttribute("aria-busy", "true");
    return fetch(bar.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": bar.dataset.csrf, "X-Requested-With": "XMLHttpRequest" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { message: response.status + " " + response.statusText };
          })
          .then(function (data) {
            if (!response.ok) {
              throw new Error(data.message || response.statusText);
            }
            window.location.reload();
          });
      })
      .catch(function (error) {
        bar.removeAttribute("aria-busy");
        showError(error.message || String(error));
      });
  }

  bar.addEventListener("click", function (event) {
    const button = event.target.closest("[data-stage-id]");
    if (!button || button.getAttribute("aria-current") === "step") {
      return;
    }
    if (button.dataset.stageKind === "lost") {
      pendingStage = button.dataset.stageId;
      lostForm.reset();
      lostReason.classList.remove("is-invalid");
      lostModal.show();
      return;
    }
    move(button.dataset.stageId);
  });

  lostForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!lostReason.value) {
      lostReason.classList.add("is-invalid");
      return;
    }
    const stage = pendingStage;
    pendingStage = null;
    lostModal.hide();
    move(stage, { lost_reason: lostReason.value, lost_comment: lostComment.value });
  });

  lostModalEl.addEventListener("hidden.bs.modal", function () {
    pendingStage = null; // closed without a reason: the deal stays where it is
  });
})();
