// « Copier » buttons: <button data-copy="id-of-the-element"> copies that element's text.
// Without JavaScript the button stays hidden (attribute hidden) and the text can be selected.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        if (status) { status.textContent = "Jeton copié dans le presse-papiers."; }
      }, function () {
        if (status) { status.textContent = "Copie impossible : sélectionnez le jeton et copiez-le."; }
      });
    });
  });
})();
