"""The service layer: the use cases every door calls (CLI, web app and API, scheduler,
workers), composed from the stages, each on one :class:`Context`.

- :mod:`distributor.service.context`: ``Context.open(settings)``, built here only.
- :mod:`distributor.service.editions`: editions an editor shapes (plan, draft, update,
  preview, test_send, approve, schedule, cancel, send_now, deliver).
- :mod:`~distributor.service.daily`, :mod:`~distributor.service.schedule`: the daily job,
  a list's slots, local-time editions, the poll.
- :mod:`~distributor.service.readers`: readers, editors and API tokens.
- :mod:`~distributor.service.previews`, :mod:`~distributor.service.sharing`,
  :mod:`~distributor.service.stories`, :mod:`~distributor.service.webhooks`,
  :mod:`~distributor.service.messages`, :mod:`~distributor.service.workers`,
  :mod:`~distributor.service.providers`, :mod:`~distributor.service.database`,
  :mod:`~distributor.service.languages`: the other doors' use cases.

Doors import from here (and the value types, settings and errors), never the store or
a stage: ``tests/test_layers.py`` fails when one does.
"""

from distributor.service.context import Context, NetworkFacts, Progress

__all__ = ["Context", "NetworkFacts", "Progress"]
