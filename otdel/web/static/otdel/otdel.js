// Otdel's small shared scripts: the page behaviours templates ask for with data attributes.
// Templates carry no inline handlers (onclick=, hx-on:, javascript: URLs, inline <script>): the
// Content-Security-Policy allows scripts from Otdel's own files only (docs/security.md), so every
// behaviour lives here, delegated from `document` so that it also works in content htmx swaps in.
//
//   data-confirm="Question?"     a form asks before it is submitted; a button or link before its click
//   data-autosubmit              a control submits its form when it changes
//   data-select-on-click         a read-only field selects its whole text when clicked
//   data-copy="text"             a button copies the text to the clipboard
//   data-history-back            a link goes back in history (its href is where to go without history)
//   data-remove-closest="sel"    a button removes its closest ancestor matching sel
//   data-empty-closest="sel"     a button empties its closest ancestor matching sel
//   data-picker / data-pick      the search-and-pick widget (crm/widgets/picker.html)
//   data-modal-autoshow          a Bootstrap modal opens as it arrives and leaves the page once closed
//   data-modal-close-after="ms"  content that closes the modal around it after ms milliseconds
//
// htmx sends the CSRF token from the body's hx-headers; htmx.config.allowEval is off (meta htmx-config
// in web/base.html), so hx-on, trigger filters and js: values would not run: use the above instead.
(function () {
  "use strict";

  function closest(event, selector) {
    return event.target instanceof Element ? event.target.closest(selector) : null;
  }

  // The element itself and its descendants that match: new content from htmx:load.
  function within(root, selector) {
    if (!(root instanceof Element)) return [];
    const found = Array.from(root.querySelectorAll(selector));
    if (root.matches(selector)) found.unshift(root);
    return found;
  }

  // Confirmations run in the capture phase, before htmx or anything else acts on the event.
  document.addEventListener(
    "submit",
    function (event) {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  document.addEventListener(
    "click",
    function (event) {
      const element = closest(event, "[data-confirm]");
      if (!element || element instanceof HTMLFormElement) return; // a form asks on submit
      if (!window.confirm(element.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  document.addEventListener("change", function (event) {
    const control = closest(event, "[data-autosubmit]");
    if (control && control.form) control.form.submit();
  });

  document.addEventListener("input", function (event) {
    // The picker's search text emptied: nothing is picked any more.
    const search = closest(event, "[data-picker] input[type=search]");
    if (search && !search.value) {
      search.closest("[data-picker]").querySelector("input[type=hidden]").value = "";
    }
  });

  document.addEventListener("click", function (event) {
    let element;
    if ((element = closest(event, "[data-select-on-click]"))) {
      element.select();
    } else if ((element = closest(event, "[data-copy]"))) {
      if (navigator.clipboard) navigator.clipboard.writeText(element.dataset.copy);
    } else if ((element = closest(event, "[data-history-back]"))) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    } else if ((element = closest(event, "[data-remove-closest]"))) {
      const target = element.closest(element.dataset.removeClosest);
      if (target) target.remove();
    } else if ((element = closest(event, "[data-empty-closest]"))) {
      const target = element.closest(element.dataset.emptyClosest);
      if (target) target.replaceChildren();
    } else if ((element = closest(event, "[data-picker] [data-pick]"))) {
      const picker = element.closest("[data-picker]");
      picker.querySelector("input[type=hidden]").value = element.dataset.id;
      picker.querySelector("input[type=search]").value = element.dataset.label;
      element.closest(".picker-results").replaceChildren();
    }
  });

  document.addEventListener("htmx:load", function (event) {
    within(event.target, ".modal[data-modal-autoshow]").forEach(function (dialog) {
      dialog.removeAttribute("data-modal-autoshow");
      dialog.addEventListener("hidden.bs.modal", function () {
        dialog.remove();
      });
      window.bootstrap.Modal.getOrCreateInstance(dialog).show();
    });
    within(event.target, "[data-modal-close-after]").forEach(function (element) {
      window.setTimeout(function () {
        const dialog = element.closest(".modal");
        if (dialog) window.bootstrap.Modal.getOrCreateInstance(dialog).hide();
      }, Number(element.dataset.modalCloseAfter) || 0);
    });
  });

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (xhr && xhr.status === 409) {
      window.alert(xhr.responseText || "Conflict");
    }
  });
})();
