// The dashboard's print button (no inline handlers: the pages run under a strict CSP).
(function () {
  const button = document.getElementById("print-button");
  if (button) button.addEventListener("click", () => window.print());
})();
