// Knowledge base: "Insert" puts an FAQ answer into the reply box's open text field.
(function () {
  if (window.kbInsertReady) return;
  window.kbInsertReady = true;
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    const template = document.getElementById(button.dataset.kbInsert);
    const box = button.closest("#comms-reply") || document;
    const field =
      box.querySelector(".tab-pane.active textarea") || box.querySelector("textarea");
    if (!template || !field) return;
    const text = template.content ? template.content.textContent : template.textContent;
    field.value = field.value ? field.value.replace(/\s*$/, "") + "\n\n" + text.trim() : text.trim();
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
})();
