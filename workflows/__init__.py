"""The case-coordination domain and its use cases (see docs/CONVENTIONS.md for the diagram contract).

- ``models``, ``geo``, ``demo_data``, ``errors``: tables, geometry, the Huqiu demo data, the error family.
- ``cases``: report a case, duplicates, rating, the staff and public views.
- ``tasks``: who may act on a task, ``complete_task`` and the decision verbs, claims, the inbox.
- ``meetings``: whistle-and-report-to-duty meetings; ``fund``: the workstation's small-matters fund.
- ``hooks``: task assignment and the engine listener (timers, where a case stands, closing).
- ``admin``: users, tokens, SLA policies; ``bootstrap`` / ``demo_loader``: install and demo.
- ``timers``: the sweep; ``notifications``: a user's notifications; ``attachments``: photos.
"""
