/* The notice editor: a small toolbar over an editable area that writes its HTML into the
   form's <textarea name="body"> (without this script the textarea is the editor, as plain
   HTML), and the live count of whom the chosen targets reach, asked of the server with
   the form's own fields and CSRF token. The server cleans the body on save whatever is
   typed here; this only makes writing easier. Loaded from a file: no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("notice-form");
  if (!form) {
    return;
  }
  var source = form.querySelector("textarea.rich-source");
  var area = form.querySelector(".rich-area");
  var toolbar = form.querySelector(".rich-toolbar");
  var SAFE_LINK = /^(https?:\/\/|mailto:|tel:)/i;
  var SAFE_IMAGE = /^https?:\/\//i;

  // What the server keeps (services/notice_html.py); the area is filled with that only,
  // copied node by node out of an inert parsed document, so nothing in a body runs here.
  var TAGS = /^(H2|H3|H4|P|BR|HR|STRONG|B|EM|I|U|S|UL|OL|LI|BLOCKQUOTE|A|IMG)$/;
  var DROP = /^(SCRIPT|STYLE|SVG|MATH|TEMPLATE|IFRAME|OBJECT|NOSCRIPT)$/;

  function copyInto(node, into) {
    Array.prototype.forEach.call(node.childNodes, function (child) {
      if (child.nodeType === 3) {
        into.appendChild(document.createTextNode(child.nodeValue));
        return;
      }
      var name = child.nodeType === 1 ? child.nodeName.toUpperCase() : "";
      if (!name || DROP.test(name)) {
        return;
      }
      if (!TAGS.test(name)) {
        copyInto(child, into);
        return;
      }
      var copy = document.createElement(name.toLowerCase());
      var href = child.getAttribute("href") || "";
      var src = child.getAttribute("src") || "";
      if (name === "A" && SAFE_LINK.test(href)) {
        copy.setAttribute("href", href);
      }
      if (name === "IMG") {
        if (!SAFE_IMAGE.test(src)) {
          return;
        }
        copy.setAttribute("src", src);
        copy.setAttribute("alt", child.getAttribute("alt") || "");
      }
      copyInto(child, copy);
      into.appendChild(copy);
    });
  }

  function load(html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    area.textContent = "";
    copyInto(parsed.body, area);
  }

  function sync() {
    source.value = area.innerHTML;
  }

  function blockOf(node) {
    while (node && node !== area) {
      if (node.nodeType === 1 && /^(H2|H3|H4|BLOCKQUOTE|P|LI)$/.test(node.nodeName)) {
        return node.nodeName;
      }
      node = node.parentNode;
    }
    return "";
  }

  function currentBlock() {
    var selection = window.getSelection();
    return selection && selection.rangeCount ? blockOf(selection.anchorNode) : "";
  }

  function ask(kind, pattern) {
    var address = window.prompt(toolbar.getAttribute("data-prompt-" + kind), "https://");
    address = (address || "").trim();
    return pattern.test(address) && address !== "https://" ? address : "";
  }

  function run(command) {
    area.focus();
    if (command === "heading") {
      document.execCommand("formatBlock", false, currentBlock() === "H3" ? "p" : "h3");
    } else if (command === "quote") {
      document.execCommand("formatBlock", false,
        currentBlock() === "BLOCKQUOTE" ? "p" : "blockquote");
    } else if (command === "link") {
      var link = ask("link", SAFE_LINK);
      if (link) {
        document.execCommand("createLink", false, link);
      }
    } else if (command === "image") {
      var image = ask("image", SAFE_IMAGE);
      if (image) {
        document.execCommand("insertImage", false, image);
      }
    } else {
      document.execCommand(command, false, null);
    }
    sync();
  }

  if (source && area && toolbar) {
    load(source.value);
    area.hidden = false;
    toolbar.hidden = false;
    source.hidden = true;
    try {
      document.execCommand("defaultParagraphSeparator", false, "p");
    } catch (ignored) { /* older browsers write <div>; the server keeps the words */ }
    if (!area.textContent.trim() && !area.querySelector("img")) {
      area.textContent = "";
      area.appendChild(document.createElement("p")).appendChild(document.createElement("br"));
    }
    area.addEventListener("input", sync);
    area.addEventListener("blur", sync);
    toolbar.addEventListener("mousedown", function (event) {
      if (event.target.closest("[data-command]")) {
        event.preventDefault(); // keep the selection in the area
      }
    });
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("[data-command]");
      if (button) {
        run(button.getAttribute("data-command"));
      }
    });
    form.addEventListener("submit", sync);
  }

  /* -- whom it reaches ------------------------------------------------------------------ */
  var output = document.getElementById("reach-count");
  var timer = null;
  var asked = 0;

  function chosenReach() {
    var checked = form.querySelector("input[name=reach]:checked");
    return checked ? checked.value : "estate";
  }

  function showTargets() {
    var reach = chosenReach();
    form.querySelectorAll("[data-for-reach]").forEach(function (box) {
      box.hidden = box.getAttribute("data-for-reach") !== reach;
    });
    var estate = form.querySelector("select[name=estate]");
    if (estate) {
      form.querySelectorAll("input[name=building_ids]").forEach(function (box) {
        var other = estate.value && box.getAttribute("data-estate") !== estate.value;
        box.closest("label").hidden = Boolean(other);
        if (other) {
          box.checked = false;
        }
      });
    }
  }

  function count() {
    var mine = ++asked;
    var data = new FormData(form);
    fetch(output.getAttribute("data-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (mine !== asked || !answer) {
        return;
      }
      if (answer.errors) {
        var first = Object.keys(answer.errors)[0];
        output.textContent = answer.errors[first];
        output.className = "reach-count alert alert-warning";
      } else {
        output.textContent = answer.text;
        output.className = "reach-count alert alert-info";
        output.setAttribute("data-residents", answer.residents);
      }
      output.hidden = false;
    }).catch(function () { /* the count is a help; saving does not need it */ });
  }

  function changed() {
    showTargets();
    if (output) {
      window.clearTimeout(timer);
      timer = window.setTimeout(count, 250);
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.hasAttribute("data-reach-input")) {
      changed();
    }
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "units") {
      changed();
    }
  });
  changed();
}());
