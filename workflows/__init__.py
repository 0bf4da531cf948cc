"""The case-coordination domain and its use cases (see docs/CONVENTIONS.md for the diagram contract).

One folder per domain noun; a behaviour is one hop from the folder names:

- ``system``, ``errors``, ``models``, ``timers``: the assembled back end, the error family, the tables, the sweep.
- ``org``: levels, units, geography. ``people``: accounts, API tokens, profiles, notifications.
- ``cases``: reporting, decisions on tasks and who may act, process hooks, timeline, attachments, Open311.
- ``coordination``: meetings, the small-matters fund. ``reference``: SLA policies.
- ``reads``: the read models shared by the API and the pages, and ``read_sessions``.
- ``evaluation``: metrics, the big screen, exports. ``admin``: settings, process versions, drafts, audit.
- ``setup``: schema and bootstrap. ``demo``: the Huqiu demo organisation and its stories.
"""
