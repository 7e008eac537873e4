"""How every admin list reads its page: the same few queries whatever the table's size.

Mixed into the base view (base.py), so every model view's list gets it:

- the order is total: the primary key follows the view's sort, unless the sort already
  covers a unique key, so pages never overlap and an index ``(scope, sort…, id)`` serves it;
- the first page's rows are read at once, a LIMIT over the sort's index; a later page's are
  picked by primary key first, from the model's table alone (an index scan, however deep
  the page), and only those rows are loaded with their relationships;
- the count stops at ``count_cap`` rows: past it the list says "10,000+" instead of
  counting a million rows for every page (filters and search narrow further, and a
  deeper page typed into the address still opens);
- rows are drawn cheaply (templates/admin/model/list.html): each row's links are filled
  into URLs built once per page (so are the pager's pages and the sort headers: see
  list_links.py), and one delete form serves the whole page; the rows of a list with the
  usual row actions are written out here in Python (``rows_html``), the same markup the
  template's loop gives, at a fraction of its cost per cell;
- the page's delete and mass-action forms are only drawn there, never read: ``PageForm``
  (page_forms.py) writes their hidden fields from the form classes without building
  WTForms forms. The POSTs they send are checked by the real forms, as before.
"""

from __future__ import annotations

from flask import g, request
from flask_admin import babel
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import UniqueConstraint, func, inspect, literal_column
from sqlalchemy.orm import Query
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from propadmin.extensions import db

from .list_links import ListLinks
from .page_forms import PageForm

# Beyond this many rows a list says "10,000+" rather than count them for every page.
COUNT_CAP = 10_000
class CappedCount(Query):
    """A list's count query, counting at most ``cap`` + 1 rows. Flask-Admin asks for the
    count before the page: it gets a ``PendingCount``, which FastList.get_list settles once
    the page's keys are read (a page that is not full tells the count without a query)."""

    cap = COUNT_CAP

    def scalar(self):
        return PendingCount(self)

    def capped_count(self) -> int:
        inner = self.with_entities(literal_column("1")).limit(self.cap + 1).subquery()
        return self.session.query(func.count()).select_from(inner).scalar()


class PendingCount:
    def __init__(self, query: CappedCount) -> None:
        self.query = query
        self.kept = None  # a function giving the count the database keeps, or None

    def settle(self, keys: list | None, offset: int, page_size: int) -> int:
        """The count: rows before the page plus the page's own when the page is not full
        (the last page: most searches find a handful), else the count the database
        keeps (an unfiltered list whose view has one), else counted."""
        if keys is not None and page_size and len(keys) < page_size and (keys or not offset):
            return min(offset + len(keys), self.query.cap + 1)
        if self.kept is not None:
            return min(self.kept(), self.query.cap + 1)
        return self.query.capped_count()


def _column_of(clause):
    """The column an ORDER BY term sorts by, and whether it is descending."""
    if isinstance(clause, UnaryExpression) and clause.modifier in (
        operators.desc_op,
        operators.asc_op,
    ):
        return clause.element, clause.modifier is operators.desc_op
    return clause, False


_UNSEEN = object()
# The row actions rows_html writes: (row URL kind, icon), or None for the delete button.
_ROW_ACTIONS = {
    "row_actions.view_row": ("details", "fa fa-eye glyphicon glyphicon-eye-open"),
    "row_actions.edit_row": ("edit", "fa fa-pencil glyphicon glyphicon-pencil"),
    "row_actions.delete_row": None,
}


class FastList(ListLinks):
    count_cap: int = COUNT_CAP
    # The first page read in one statement, without reading its keys first.
    first_page_at_once: bool = True
    # False where a list template draws its rows itself (its own list_row block).
    fast_rows: bool = True

    # -- one primary-key column, or None (then Flask-Admin's own paging is kept) ----------
    def _list_pk(self):
        keys = inspect(self.model).primary_key
        return keys[0] if len(keys) == 1 else None

    def _unique_keys(self) -> list[set[str]]:
        """The column sets that identify a row: the primary key, and unique constraints
        and indexes over columns that cannot be NULL (NULLs may repeat)."""
        table = inspect(self.model).local_table
        uniques = [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
        uniques += [ix.columns for ix in table.indexes if ix.unique]
        keys = [{c.name for c in table.primary_key.columns}]
        keys += [{c.name for c in cols} for cols in uniques if not any(c.nullable for c in cols)]
        return keys

    # -- count -------------------------------------------------------------------------
    def get_count_query(self):
        query = CappedCount([func.count("*")], session=db.session()).select_from(self.model)
        query.cap = self.count_cap
        return query

    def render(self, template, **kwargs):
        if template == self.list_template:
            count = kwargs.get("count")
            if isinstance(count, int) and count > self.count_cap:
                kwargs["count"] = f"{self.count_cap:,}+"
            kwargs["row_urls"] = self.row_urls(kwargs.get("return_url"))
        return super().render(template, **kwargs)

    # -- order and page ----------------------------------------------------------------
    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        pk = self._list_pk()
        if pk is None:
            return query, joins
        terms = [_column_of(c) for c in query._order_by_clauses]
        table = pk.table
        sorted_by = {col.name for col, _desc in terms if getattr(col, "table", None) is table}
        if any(key <= sorted_by for key in self._unique_keys()):
            return query, joins  # already a total order
        descending = bool(terms) and terms[-1][1]
        return query.order_by(pk.desc() if descending else pk), joins

    def _apply_pagination(self, query, page, page_size):
        """The page's keys are read from the model's table alone (one index scan, however
        deep the page); then only those rows are loaded, with their eager relationships,
        by key and unsorted (a database given the sort would rather walk the sort's index
        over every row in scope): get_list puts them back in the keys' order. A search
        that names the rows it found (``rows_among``) is its own first page."""
        page_size = self.page_size if page_size is None else page_size
        pk = self._list_pk()
        among = g.pop("_list_rows_among", None)
        if not page_size or pk is None:
            return super()._apply_pagination(query, page, page_size)
        offset = (page or 0) * page_size
        if among is not None and not offset and len(among) <= page_size:
            query.whole_page = True  # the rows found are the page: read them sorted
            return query
        if not offset and self.first_page_at_once:
            # The first page, the one opened most: a LIMIT over the sort's index reads its
            # rows in order, as the keys would be read, with no keys statement before them.
            rows = query.limit(page_size)
            rows.first_page = True
            return rows
        keys = [key for (key,) in query.with_entities(pk).offset(offset).limit(page_size)]
        rows = query.filter(pk.in_(keys)).order_by(None)
        rows.page_keys = keys
        return rows

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        count, query = super().get_list(
            page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
        )
        keys = getattr(query, "page_keys", None)
        size = self.page_size if page_size is None else page_size
        if isinstance(count, PendingCount) and not search and not filters:
            count.kept = self.kept_count
        if getattr(query, "whole_page", False) and execute:
            rows = query.all()
            return (len(rows) if isinstance(count, PendingCount) else count), rows
        if getattr(query, "first_page", False) and execute:
            rows = query.all()
            if isinstance(count, PendingCount):
                count = count.settle([inspect(row).identity[0] for row in rows], 0, size)
            return count, rows
        if isinstance(count, PendingCount):
            count = count.settle(keys, (page or 0) * (size or 0), size)
        if not execute:
            return count, query
        rows = query.all()
        if keys is not None:
            position = {key: i for i, key in enumerate(keys)}
            rows.sort(key=lambda row: position[inspect(row).identity[0]])
        return count, rows

    kept_count = None  # a view whose database keeps its rows' count: a method giving it

    # -- the page's delete and mass-action forms, drawn only -----------------------------
    def delete_form(self):
        return self._page_form(self._delete_form_class) or super().delete_form()

    def action_form(self, obj=None):
        page_form = self._page_form(self._action_form_class) if obj is None else None
        return page_form or super().action_form(obj)

    def _page_form(self, form_class) -> PageForm | None:
        """On the list page (and only there: the POSTs read real forms), its form drawn
        as ``PageForm``."""
        if request.endpoint != f"{self.endpoint}.index_view":
            return None
        return PageForm.of(form_class)

    def rows_among(self, ids: list) -> None:
        """The search this request applies finds exactly the rows of these keys (a number
        search, which had to find them to audit them): when they fit on the first page,
        that page is those rows, read once in the list's order, with no keys query."""
        g._list_rows_among = ids

    # -- rows drawn cheaply --------------------------------------------------------------
    def page_formatters(self) -> dict:
        """The column formatters ``rows_html`` draws this page's cells with: a view whose
        cells read the request's data (today in each estate, say) gives formatters that
        looked it up once for the page, not once per row. The same cells as
        ``column_formatters`` give, which the template's loop uses."""
        return self.column_formatters

    def macro_row_actions(self, list_row_actions) -> bool:
        """Whether a row action is drawn by its macro (admin/model/row_actions.html): one
        other than the view, edit and delete buttons written here and in the list's loop."""
        return any(a.template_name not in _ROW_ACTIONS for a in list_row_actions)

    @pass_context
    def rows_html(self, context, data, list_columns, list_row_actions, row_urls, actions):
        """The table's rows as templates/admin/model/list.html's loop writes them, for a
        list whose rows have the usual view, edit and delete actions and no cell edited in
        place; ``None`` otherwise (and for an empty page), and the template draws them.
        The cells are the same ``get_list_value`` calls the loop makes, escaped alike."""
        if not self.fast_rows or not data or self.column_editable_list:
            return None
        if self.macro_row_actions(list_row_actions):
            return None
        buttons = []
        for action in list_row_actions:
            title = escape(action.title)
            known = _ROW_ACTIONS[action.template_name]
            if known is None:
                question = escape(babel.gettext("Are you sure you want to delete this record?"))
                buttons.append(
                    ('<button class="icon row-delete" form="list-delete-form" name="id" value="',
                     f'" data-confirm="{question}" title="{title}"><span class="fa fa-trash'
                     ' glyphicon glyphicon-trash"></span></button>', None)
                )
            else:
                kind, icon = known
                closing = f'" title="{title}"><span class="{icon}"></span></a>'
                buttons.append(('<a class="icon" href="', closing, row_urls[kind]))
        select_title = escape(babel.gettext("Select record"))
        show_buttons = self.column_display_actions
        formatters = self.page_formatters()
        cells = [
            (f'<td class="col-{escape(name)}">', name, formatters.get(name),
             self._column_choices_map.get(name))
            for name, _label in list_columns
        ]
        type_formatters = self.column_type_formatters
        by_type: dict[type, object] = {}  # the type formatter of each value type met
        out = []
        for row in data:
            pk = self.get_pk_value(row)
            key = escape(pk)
            out.append("<tr>")
            if actions:
                out.append(
                    f'<td><input type="checkbox" name="rowid" class="action-checkbox"'
                    f' value="{key}" title="{select_title}" /></td>'
                )
            if show_buttons:
                out.append('<td class="list-buttons-column">')
                for before, after, url in buttons:
                    target = key if url is None else escape(url(pk))
                    out.append(f"{before}{target}{after}")
                out.append("</td>")
            for opening, name, formatter, choices in cells:
                # Flask-Admin's _get_list_value, with each value type's formatter looked
                # up once per page instead of tried in turn for every cell.
                if formatter is not None:
                    cell = formatter(self, context, row, name)
                else:
                    cell = self._get_field_value(row, name)
                if choices:
                    cell = choices.get(cell) or cell
                else:
                    kind = type(cell)
                    type_formatter = by_type.get(kind, _UNSEEN)
                    if type_formatter is _UNSEEN:
                        type_formatter = by_type[kind] = next(
                            (f for t, f in type_formatters.items() if isinstance(cell, t)), None
                        )
                    if type_formatter is not None:
                        cell = type_formatter(self, cell, name)
                out.append(f"{opening}{escape(cell)}</td>")
            out.append("</tr>\n")
        return Markup("".join(out))  # noqa: S704 - every value in it went through escape()
