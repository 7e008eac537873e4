/* What Flask-Admin's templates did in onclick="..." attributes, which the
   Content-Security-Policy refuses (templates/admin/actions.html and admin/model/*.html
   carry data attributes instead): the delete button's question, the mass actions, the
   filter menu and the inline rows' Add button. Flask-Admin's do-nothing links (the
   current tab, the current page of a list) stay href="javascript:void(0)": a click on
   one is cancelled here, so the browser never runs (and refuses) the javascript: URL.
   Loaded from a file: no inline script. */
(function () {
  "use strict";
  // Capturing: before Flask-Admin's and Bootstrap's own handlers, whatever they do.
  document.addEventListener("click", function (event) {
    var el = event.target.closest(
      "[data-confirm], [data-action], [data-inline-add], a.filter, a[href^='javascript:']"
    );
    if (!el) {
      return;
    }
    if (el.hasAttribute("data-confirm")) {
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
      return;
    }
    event.preventDefault(); // links to "#": the page stays where it is
    if (el.hasAttribute("data-action")) {
      window.modelActions.execute(el.getAttribute("data-action"));
    } else if (el.hasAttribute("data-inline-add")) {
      window.faForm.addInlineField(el, el.getAttribute("data-inline-add"));
    }
    // a.filter: Flask-Admin's bs4_filters.js adds the filter row itself.
    // a[href^='javascript:']: nothing to do.
  }, true);
})();
