// Time-zone selects (TimeZoneField in coach_app/forms.py): a box above the select that
// narrows its options as you type (city, country or region, in any order of words), and,
// on fields marked data-tz-guess, the browser's own zone preselected while the field is
// empty. Without JavaScript the select still works: grouped by region, with the browser's
// type-ahead on place names. A static file, because the Content-Security-Policy forbids
// inline scripts.
(function () {
  "use strict";

  function normal(text) {
    return (text || "").toLowerCase().replace(/[_/()]+/g, " ").replace(/\s+/g, " ").trim();
  }

  function matches(option, group, words) {
    var haystack = normal(option.value + " " + option.textContent + " " + group);
    return words.every(function (word) { return haystack.indexOf(word) !== -1; });
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }

  function filter(select, original, query, status) {
    var words = normal(query).split(" ").filter(Boolean);
    var current = select.value;
    var firstMatch = null;
    var count = 0;
    select.textContent = "";
    original.forEach(function (node) {
      if (node.tagName === "OPTGROUP") {
        var group = node.cloneNode(false);
        Array.prototype.forEach.call(node.children, function (option) {
          if (!words.length || matches(option, node.label, words)) {
            group.appendChild(option.cloneNode(true));
            count += 1;
            firstMatch = firstMatch || option.value;
          }
        });
        if (group.children.length) select.appendChild(group);
      } else if (!words.length || node.value === "" || matches(node, "", words)) {
        select.appendChild(node.cloneNode(true));
        if (node.value !== "") {
          count += 1;
          firstMatch = firstMatch || node.value;
        }
      }
    });
    if (hasOption(select, current) && (current !== "" || !firstMatch || !words.length)) {
      select.value = current;
    } else if (firstMatch) {
      select.value = firstMatch;
    }
    if (!words.length) {
      chosen(select, status);
    } else if (count === 0) {
      status.textContent = "No zone matches; clear the box to see them all.";
    } else {
      status.textContent = count + (count === 1 ? " zone matches." : " zones match.") +
        " Chosen: " + select.value;
    }
  }

  function chosen(select, status) {
    // The closed select shows only the place ("Berlin"): say the full name it stands for.
    status.textContent = select.value ? "Chosen: " + select.value : "";
  }

  function guess(select, status) {
    if (!select.hasAttribute("data-tz-guess") || select.value !== "") return;
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    var aliases = {};
    try { aliases = JSON.parse(select.getAttribute("data-tz-aliases") || "{}"); } catch (e) { /* none */ }
    var name = hasOption(select, zone) ? zone : aliases[zone];
    if (name && hasOption(select, name)) {
      select.value = name;
      status.textContent = "Preselected from your browser: " + name + ". Change it if it is wrong.";
    }
  }

  function enhance(select) {
    if (select.getAttribute("data-tz-ready")) return;
    select.setAttribute("data-tz-ready", "1");
    var original = Array.prototype.map.call(select.children, function (n) { return n.cloneNode(true); });
    var input = document.createElement("input");
    input.type = "search";
    input.className = "form-control form-control-sm mb-1 tz-filter";
    input.placeholder = "Type to find a zone: a city, country or region";
    input.autocomplete = "off";
    input.setAttribute("aria-label", "Find a time zone");
    input.setAttribute("aria-controls", select.id);
    var status = document.createElement("div");
    status.className = "form-text tz-status";
    status.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(input, select);
    select.parentNode.insertBefore(status, select.nextSibling);
    input.addEventListener("input", function () { filter(select, original, input.value, status); });
    select.addEventListener("change", function () { chosen(select, status); });
    input.addEventListener("keydown", function (event) {
      // Enter picks the chosen zone rather than submitting the form half filled in.
      if (event.key === "Enter") { event.preventDefault(); select.focus(); }
    });
    chosen(select, status);
    guess(select, status);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-tz-select]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
