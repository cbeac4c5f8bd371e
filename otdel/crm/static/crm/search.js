// The top-bar search: htmx fetches the drop-down as you type (debounced, a newer request replaces
// an older one); this file shows and hides it and moves through it with the keyboard:
// ↓/↑ choose, Enter opens the chosen one (or the full results page), Esc closes.
(function () {
  "use strict";

  function parts(box) {
    return { input: box.querySelector("input[name=q]"), menu: box.querySelector("[role=listbox]") };
  }

  function items(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll("[data-search-item]"));
  }

  function setOpen(box, open) {
    var p = parts(box);
    var show = open && p.menu.children.length > 0;
    p.menu.classList.toggle("show", show);
    p.input.setAttribute("aria-expanded", show ? "true" : "false");
  }

  function choose(box, index) {
    var p = parts(box);
    var list = items(p.menu);
    list.forEach(function (item, i) {
      item.id = "search-suggest-" + i; // the rest of a phone's results may have arrived since
      item.classList.toggle("active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && list[index]) {
      p.input.setAttribute("aria-activedescendant", list[index].id || "");
      list[index].scrollIntoView({ block: "nearest" });
    }
  }

  function chosen(box) {
    return items(parts(box).menu).findIndex(function (item) {
      return item.classList.contains("active");
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = event.target.closest && event.target.closest("[data-search-box]");
    if (!box) return;
    items(parts(box).menu).forEach(function (item, i) {
      item.id = "search-suggest-" + i;
    });
    setOpen(box, document.activeElement === parts(box).input);
  });

  document.addEventListener("keydown", function (event) {
    var box = event.target.closest && event.target.closest("[data-search-box]");
    if (!box || event.target !== parts(box).input) return;
    var list = items(parts(box).menu);
    var index = chosen(box);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!list.length) return;
      event.preventDefault();
      setOpen(box, true);
      var step = event.key === "ArrowDown" ? 1 : -1;
      choose(box, index < 0 ? (step > 0 ? 0 : list.length - 1) : (index + step + list.length) % list.length);
    } else if (event.key === "Enter" && index >= 0 && parts(box).menu.classList.contains("show")) {
      event.preventDefault();
      window.location.href = list[index].href;
    } else if (event.key === "Escape") {
      setOpen(box, false);
      choose(box, -1);
    }
  });

  document.addEventListener("focusin", function (event) {
    var box = event.target.closest && event.target.closest("[data-search-box]");
    document.querySelectorAll("[data-search-box]").forEach(function (other) {
      if (other !== box) setOpen(other, false);
    });
    if (box && event.target === parts(box).input) setOpen(box, true);
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("[data-search-box]").forEach(function (box) {
      if (!box.contains(event.target)) setOpen(box, false);
    });
  });
})();
