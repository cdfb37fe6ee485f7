// Upload progress for a form marked data-upload-progress (progressive enhancement: without
// JavaScript the form posts as usual). The file is sent with XMLHttpRequest so that the
// <progress> bar follows the bytes sent; when the server answers with a redirect (a lot
// recorded: Post/Redirect/Get), the browser goes to that page by GET; any other answer (a
// verification report, an error, the 413 page) replaces the document.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-upload-progress]");
  if (!window.FormData || !window.XMLHttpRequest) { return; }
  Array.prototype.forEach.call(forms, function (form) {
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var text = form.querySelector(".upload-progress-text");
    if (!box || !bar) { return; }
    // form.action would be the button named "action": read the attribute.
    var target = new URL(form.getAttribute("action") || window.location.href, window.location.href).href;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      var submitter = event.submitter;
      if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
      var buttons = form.querySelectorAll("button");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      box.hidden = false;
      bar.value = 0;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", target);
      xhr.setRequestHeader("Accept", "text/html");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round(100 * e.loaded / e.total);
        bar.value = percent;
        if (text) { text.textContent = percent + " %"; }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        if (text) { text.textContent = "Fichier envoyé, contrôle en cours…"; }
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL !== target) {
          window.location.assign(xhr.responseURL);  // the receipt, read back by GET
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        if (text) { text.textContent = "L'envoi a échoué (connexion interrompue) : réessayez."; }
      });
      xhr.send(data);
    });
  });
})();
