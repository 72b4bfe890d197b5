"""The Space's pages, one module each: what a page shows and the components of its tab.

A page module holds its view (a dataclass and a render function: a snapshot of the results
dataset and the URL parameters in, what the page shows out; plain Python, timed by
``bench/space.py``), its callback ``r_<page>`` (the view as one update per output component) and
its ``layout`` (the components of its tab, built inside it, and the in-page interactions that
leave the URL's view unchanged). It ends with ``PAGE``, a :class:`space.pages.base.Page`.

``space.app`` composes the pages: it builds the header, makes one tab per page in the order of
its ``PAGES`` list, and wires each page's :class:`space.pages.base.PageParts` (``space.wiring``).
Adding a page is one new module here plus one line in ``PAGES``; its view is then reachable as
``?view=<its id>&...``. What every page's HTML shares lives in ``space.page``, every query in
``space.queries``.
"""
