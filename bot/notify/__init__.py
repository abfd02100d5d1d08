"""Who gets told what: every outbox write and its idempotency key scheme, one module per
feature. Listeners and jobs both call here, so what goes out lives in one place.

Each row is interactive or bulk, and each module's key list says which of its keys are bulk.
The rule: a row that answers a person's own action now (a kudos DM, the answers DM after a
submission, a confirmation, a clicked DM updated, App Home, a preview) is interactive; a row
written by a scheduled job or by a fan-out (one action, many recipients: prompts, re-prompts
and reminders, digests, a feedback request's asks, reminders and closing, a manager's answer to
the team, a cycle's closing DMs, the DMs a departure or an erasure changes, a leaver's notice to
their manager) is bulk. The sender sends interactive rows first, so a kudos given during a
Monday's fan-out overtakes it; bulk rows still get a share of every method's pace
(bot/delivery/sender.py). A kudos to several people stays interactive: the giver waits to see
it land. tests/test_outbox_priority.py pins each public function here to the priority of the
rows it writes, and fails for one it does not name.

Bulk rows, by key:
- checkins: `checkin:{occurrence}:prompt`, `…:snooze:{n}`, `…:reminder`
- digest: `digest:{manager}:{week}:chart`, `…:message`, `…:reply:{n}`, `…:notes`
- feedback_requests: `request:{id}:ask:{user}`, `…:remind:{user}`, `…:summary`, `…:subject`,
  `…:withdrawn:{user}`
- feedback: `team_answer:{view}:{report}`
- goal_closing: `goal-close:{cycle}:{owner}`
- lifecycle: `goal-owner-left:{user}:{date}`
- privacy: `privacy:tombstone:{row}`
Every other key (kudos, reactions, conversations, home, goals, the rest of checkins, feedback
and feedback_requests, `goal-close:{objective}:…`, `privacy:export:…`, `digest:preview:…`) is
interactive.
"""
