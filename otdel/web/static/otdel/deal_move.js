// What the deals board (kanban.js) and the deal card's stage bar (crm/stagebar.js) share when a deal
// moves: the POST to the move endpoint, the refusal shown above them, and the lost-reason dialog.
window.otdelDealMove = (function () {
  "use strict";

  // Replace what `alertBox` shows with one dismissible error (marked data-testid=`testid`).
  function showError(alertBox, message, testid) {
    alertBox.innerHTML = "";
    const box = document.createElement("div");
    box.className = "alert alert-danger alert-dismissible fade show";
    box.setAttribute("role", "alert");
    box.dataset.testid = testid;
    box.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    box.appendChild(close);
    alertBox.appendChild(box);
  }

  // POST the move; resolves with the answer's JSON, rejects with the server's message.
  function post(url, body, csrf) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "X-Requested-With": "XMLHttpRequest" },
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { message: response.status + " " + response.statusText };
        })
        .then(function (data) {
          if (!response.ok) {
            throw new Error(data.message || response.statusText);
          }
          return data;
        });
    });
  }

  // The page's lost-reason dialog (#lost-modal): ask(onChosen, onCancelled) opens it; onChosen gets
  // {lost_reason, lost_comment}; closing it without a reason calls onCancelled (the deal stays).
  function lostDialog() {
    const modalEl = document.getElementById("lost-modal");
    const form = document.getElementById("lost-form");
    const reason = document.getElementById("lost-reason");
    const comment = document.getElementById("lost-comment");
    const modal = bootstrap.Modal.getOrCreateInstance(modalEl);
    let pending = null;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!reason.value) {
        reason.classList.add("is-invalid");
        return;
      }
      const chosen = pending;
      pending = null;
      modal.hide();
      chosen.onChosen({ lost_reason: reason.value, lost_comment: comment.value });
    });
    modalEl.addEventListener("hidden.bs.modal", function () {
      if (pending) {
        const cancelled = pending;
        pending = null;
        cancelled.onCancelled();
      }
    });
    return {
      ask: function (onChosen, onCancelled) {
        pending = { onChosen: onChosen, onCancelled: onCancelled || function () {} };
        form.reset();
        reason.classList.remove("is-invalid");
        modal.show();
      },
    };
  }

  return { showError: showError, post: post, lostDialog: lostDialog };
})();
