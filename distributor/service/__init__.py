"""The service layer: the use cases every door calls (CLI, web app and API, scheduler,
workers), composed from the stages, each on one :class:`Context`.

- :mod:`distributor.service.context`: ``Context.open(settings)``, built here only.
- :mod:`distributor.service.editions`: editions an editor shapes (plan, draft, update,
  preview, test_send, approve, schedule, cancel, send_now, deliver).

Doors import from here (and the value types, settings and errors), never the store or
a stage: ``tests/test_layers.py`` fails when one does.
"""

from distributor.service.context import Context, Progress

__all__ = ["Context", "Progress"]
