"""Editions an editor can see, shape and schedule (issue 14): the use cases.

An edition (:class:`~distributor.models.PlannedEdition`) is one list and one key with
its variants (reader language x segment) and their stories, stored before it is
sent::

    draft ──approve──> approved (send_at = its slot) ──┐
      │  └─schedule──> scheduled (send_at = chosen)  ──┴──> sending ──> sent
      └──────────────── cancel ──> cancelled   (from draft, approved or scheduled)

Every door (CLI, dashboard, JSON API, scheduler) calls these functions; the preview,
the test send and the real send all render from the same stored variants, so what an
editor saw is what readers get (only the personal parts differ).  Editing an approved
or scheduled edition puts it back to ``draft``: what was approved is what goes.
Each change names the version it was made on (optimistic versioning) and is logged
with who made it.

The package: :mod:`.values` (what the use cases take and give), :mod:`.reading`
(one edition, listings, history, slots, the next unsaved edition), :mod:`.shaping`
(draft, one-off, update, approve, schedule, cancel) and :mod:`.sending` (preview,
test send, send now).  Doors import this package only.
"""

from distributor.service.editions.reading import (
    candidates,
    changes,
    describe,
    desk_time,
    desk_zone,
    figures,
    get,
    history,
    listing,
    next_slot,
    parse_time,
    paused_lists,
    plan,
    text_direction,
    upcoming,
)
from distributor.service.editions.sending import (
    preview,
    preview_next,
    send_now,
    test_send,
    test_send_next,
)
from distributor.service.editions.shaping import (
    approve,
    cancel,
    draft,
    draft_due,
    one_off,
    schedule,
    update,
)
from distributor.service.editions.values import (
    Changes,
    Preview,
    SendOutcome,
    TestSendOutcome,
    Upcoming,
)
from distributor.service.plans import ONE_OFF, REGULAR, stories_of

__all__ = [
    "ONE_OFF",
    "REGULAR",
    "Changes",
    "Preview",
    "SendOutcome",
    "TestSendOutcome",
    "Upcoming",
    "approve",
    "cancel",
    "candidates",
    "changes",
    "describe",
    "desk_time",
    "desk_zone",
    "draft",
    "draft_due",
    "figures",
    "get",
    "history",
    "listing",
    "next_slot",
    "one_off",
    "parse_time",
    "paused_lists",
    "plan",
    "preview",
    "preview_next",
    "schedule",
    "send_now",
    "stories_of",
    "test_send",
    "test_send_next",
    "text_direction",
    "upcoming",
    "update",
]
