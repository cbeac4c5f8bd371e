// Otdel's small shared scripts. htmx sends the CSRF token from the body's hx-headers.
document.addEventListener("htmx:responseError", function (event) {
  const xhr = event.detail.xhr;
  if (xhr && xhr.status === 409) {
    alert(xhr.responseText || "Conflict");
  }
});
