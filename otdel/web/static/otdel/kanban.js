// The deals board: drag and drop between and within columns (SortableJS), the lost-reason
// dialog, column totals after a move, and the lazily loaded pages of cards (htmx).
(function () {
  "use strict";

  const board = document.getElementById("kanban");
  if (!board) {
    return;
  }
  const alertBox = document.getElementById("kanban-alert");
  const moves = window.otdelDealMove;
  const lost = moves.lostDialog();

  function showError(message) {
    moves.showError(alertBox, message, "kanban-error");
  }

  function sibling(card, forward) {
    let el = forward ? card.nextElementSibling : card.previousElementSibling;
    while (el && !el.classList.contains("kanban-card")) {
      el = forward ? el.nextElementSibling : el.previousElementSibling;
    }
    return el;
  }

  function countCards(stageId) {
    const list = document.getElementById("kanban-cards-" + stageId);
    return list ? list.querySelectorAll(".kanban-card").length : 0;
  }

  // Put the card back where the drag started (the server refused the move).
  function revert(drag) {
    const next = drag.next && drag.next.parentNode === drag.from ? drag.next : null;
    drag.from.insertBefore(drag.item, next);
  }

  function updateColumns(columns) {
    columns.forEach(function (column) {
      const section = board.querySelector('.kanban-column[data-stage-id="' + column.stage + '"]');
      if (!section) {
        return;
      }
      section.querySelector('[data-role="count"]').textContent = column.count_text;
      section.querySelector('[data-role="total"]').textContent = column.total;
    });
  }

  function send(payload, drag) {
    const body = new URLSearchParams(payload);
    body.set("q", board.dataset.q || "");
    body.set("responsible", board.dataset.responsible || "");
    const url = board.dataset.moveUrl.replace("/0/", "/" + drag.item.dataset.dealId + "/");
    board.classList.add("kanban-busy");
    return moves
      .post(url, body, board.dataset.csrf)
      .then(function (data) {
        drag.item.dataset.version = data.deal.version;
        updateColumns(data.columns);
      })
      .catch(function (error) {
        revert(drag);
        showError(error.message || String(error));
      })
      .finally(function () {
        board.classList.remove("kanban-busy");
      });
  }

  function askLostReason(payload, drag) {
    lost.ask(
      function (reason) {
        send(Object.assign(payload, reason), drag);
      },
      function () {
        revert(drag); // closed without a reason: a deal is not lost without one
      }
    );
  }

  let drag = null;

  function onChoose(event) {
    drag = { item: event.item, from: event.from, next: sibling(event.item, true) };
  }

  function onEnd(event) {
    const current = drag;
    drag = null;
    if (!current || (event.from === event.to && event.oldIndex === event.newIndex)) {
      return;
    }
    const item = event.item;
    const toStage = event.to.dataset.stageId;
    const payload = { stage: toStage, version: item.dataset.version || "" };
    const next = sibling(item, true);
    const previous = sibling(item, false);
    if (next) {
      payload.before = next.dataset.dealId;
    } else if (previous) {
      payload.after = previous.dataset.dealId;
    }
    const kind = event.to.closest(".kanban-column").dataset.stageKind;
    if (event.from !== event.to && kind === "lost") {
      askLostReason(payload, current);
    } else {
      send(payload, current);
    }
  }

  board.querySelectorAll(".kanban-cards").forEach(function (list) {
    new Sortable(list, {
      group: "deals",
      draggable: ".kanban-card",
      animation: 150,
      // Mouse-event dragging behaves the same in every browser and lets cards scroll the column.
      forceFallback: true,
      fallbackTolerance: 4,
      onChoose: onChoose,
      onEnd: onEnd,
    });
  });

  // A phone shows one column: the switcher above the board picks which.
  const switcher = document.querySelector(".kanban-switcher");
  if (switcher) {
    switcher.addEventListener("change", function () {
      board.querySelectorAll(".kanban-column").forEach(function (section) {
        section.classList.toggle("is-current", section.dataset.stageId === switcher.value);
      });
    });
  }

  // Quick add: the "+" of a column opens a one-line form at its top; the new card lands first.
  board.querySelectorAll(".kanban-add-toggle").forEach(function (button) {
    button.addEventListener("click", function () {
      const form = button.closest(".kanban-column").querySelector(".kanban-quick-add");
      const hidden = form.classList.toggle("d-none");
      button.setAttribute("aria-expanded", hidden ? "false" : "true");
      if (!hidden) {
        form.querySelector("input[name=title]").focus();
      }
    });
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (!form.classList || !form.classList.contains("kanban-quick-add")) {
      return;
    }
    const error = form.querySelector('[data-role="quick-add-error"]');
    if (event.detail.successful) {
      error.textContent = "";
      form.reset();
      form.querySelector("input[name=title]").focus();
      const data = JSON.parse(event.detail.xhr.getResponseHeader("X-Kanban-Columns") || "[]");
      updateColumns(data);
    }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    const form = event.detail.elt;
    if (form.classList && form.classList.contains("kanban-quick-add")) {
      let message = event.detail.xhr.statusText;
      try {
        message = JSON.parse(event.detail.xhr.responseText).message || message;
      } catch (e) {
        // not JSON: keep the status text
      }
      form.querySelector('[data-role="quick-add-error"]').textContent = message;
    }
  });

  // Pages of cards: ask from how many cards the column already shows (moves shift the offsets).
  document.body.addEventListener("htmx:configRequest", function (event) {
    const more = event.detail.elt.closest(".kanban-more");
    if (more) {
      event.detail.parameters.offset = countCards(more.dataset.stageId);
    }
  });

  // A card moved in from another column may come again in the next page: keep one copy.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("kanban-cards")) {
      return;
    }
    const seen = new Set();
    board.querySelectorAll(".kanban-card").forEach(function (card) {
      if (seen.has(card.dataset.dealId)) {
        card.remove();
      } else {
        seen.add(card.dataset.dealId);
      }
    });
  });
})();
