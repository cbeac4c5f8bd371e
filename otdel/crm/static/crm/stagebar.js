// The deal card's stage bar: one click moves the deal (POST to the kanban's move endpoint); a lost
// stage asks for the reason first; a refusal (a required checklist item, someone else's edit) is shown.
(function () {
  "use strict";

  const bar = document.getElementById("stage-bar");
  if (!bar) {
    return;
  }
  const alertBox = document.getElementById("stage-bar-alert");
  const moves = window.otdelDealMove;
  const lost = moves.lostDialog();

  function move(stage, extra) {
    const body = new URLSearchParams(Object.assign({ stage: stage, version: bar.dataset.version }, extra || {}));
    bar.setAttribute("aria-busy", "true");
    return moves
      .post(bar.dataset.moveUrl, body, bar.dataset.csrf)
      .then(function () {
        window.location.reload();
      })
      .catch(function (error) {
        bar.removeAttribute("aria-busy");
        moves.showError(alertBox, error.message || String(error), "stage-bar-error");
      });
  }

  bar.addEventListener("click", function (event) {
    const button = event.target.closest("[data-stage-id]");
    if (!button || button.getAttribute("aria-current") === "step") {
      return;
    }
    const stage = button.dataset.stageId;
    if (button.dataset.stageKind === "lost") {
      lost.ask(function (reason) {
        move(stage, reason);
      }); // closed without a reason: the deal stays where it is
      return;
    }
    move(stage);
  });
})();
