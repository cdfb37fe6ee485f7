/* Online billing: price the care sheet as it is typed, through POST /api/v1/fse/price
   (the same pricing and rules as the submission). Without this script, « Calculer » does it. */
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form) { return; }
  var focus = form.getAttribute("data-focus");
  if (focus && document.getElementById(focus)) { document.getElementById(focus).focus(); }
  var url = form.getAttribute("data-price-url");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null;
  var seq = 0;

  function value(name) {
    var el = form.elements.namedItem(name);
    return el ? el.value : "";
  }

  function sheet() {
    var lines = [];
    form.querySelectorAll("li.line").forEach(function (li) {
      var n = li.getAttribute("data-line");
      lines.push({ kind: value("lines-" + n + "-kind"), code: value("lines-" + n + "-code"),
        coefficient: value("lines-" + n + "-coefficient"), quantity: value("lines-" + n + "-quantity"),
        care_date: value("lines-" + n + "-care_date") });
    });
    return {
      patient: { nir: value("nir"), birth_date: value("birth_date"), rank: value("rank") },
      care_date: value("care_date"), nature: value("nature"), pathway: value("pathway") === "oui",
      exemption: value("exemption"), prescriber_rpps: value("prescriber_rpps"),
      prescription_date: value("prescription_date"),
      tiers_payant: { amo: form.elements.namedItem("tiers_payant_amo").checked,
        amc: form.elements.namedItem("tiers_payant_amc").checked },
      lines: lines
    };
  }

  function euros(text) {
    if (text === null || text === undefined) { return "—"; }
    var parts = String(text).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    return whole + "," + (parts[1] || "00") + "\u00a0€";
  }

  function put(key, text) {
    form.querySelectorAll('[data-out="' + key + '"]').forEach(function (el) { el.textContent = text; });
  }

  function showErrors(errors) {
    form.querySelectorAll("[data-errors-for]").forEach(function (box) {
      box.textContent = "";
      var id = box.id.replace(/^err-/, "");
      var input = document.getElementById(id);
      if (input) { input.removeAttribute("aria-invalid"); }
    });
    errors.forEach(function (e) {
      var box = form.querySelector('[data-errors-for="' + e.field + '"]') ||
        form.querySelector('[data-errors-for="sheet"]');
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-code", e.code);
      var strong = document.createElement("strong");
      strong.textContent = e.message;
      p.appendChild(strong);
      if (e.detail) { p.appendChild(document.createTextNode(" " + e.detail)); }
      if (e.hint) {
        var hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = e.hint;
        p.appendChild(hint);
      }
      box.appendChild(p);
      var input = document.getElementById(box.id.replace(/^err-/, ""));
      if (input) { input.setAttribute("aria-invalid", "true"); }
    });
  }

  function showPatient(p) {
    var box = document.getElementById("patient");
    box.textContent = "";
    var para = document.createElement("p");
    if (p.status === "ok") {
      para.className = "patient-ok";
      var strong = document.createElement("strong");
      strong.textContent = p.name;
      para.appendChild(strong);
      var at = p.at.split("-").reverse().join("/");
      var text = ", rang " + p.rank + " : droits ouverts le " + at + ". " +
        (p.exemptions.length ? "Exonérations : " + p.exemptions.join(", ") + "." : "Aucune exonération.");
      if (p.ehpad) { text += " Résident en EHPAD (" + p.ehpad + ") à cette date."; }
      para.appendChild(document.createTextNode(text));
    } else {
      para.className = "patient-ko";
      para.textContent = (p.name ? p.name + " : " : "") + p.reason;
    }
    box.appendChild(para);
  }

  function show(data) {
    showPatient(data.patient);
    data.lines.forEach(function (line) {
      var n = line.number;
      put("lines." + n + ".label", line.label || "");
      put("lines." + n + ".base", line.priced ? euros(line.base) : "—");
      put("lines." + n + ".rate", line.priced ? line.rate + " %" : "—");
      put("lines." + n + ".amo", line.priced ? euros(line.amo) : "—");
    });
    var t = data.totals || {};
    ["base", "amo", "participation", "franchise"].forEach(function (k) { put("totals." + k, data.totals ? euros(t[k]) : "—"); });
    showErrors(data.errors);
    document.getElementById("price-state").textContent = data.ok ? "Montants à jour." :
      "Montants à jour : " + data.errors.length + " erreur(s).";
  }

  function price() {
    var mine = ++seq;
    fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" },
      body: JSON.stringify(sheet()) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === seq) { show(data); } })
      .catch(function () { /* « Calculer » still works */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(price, 250);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
