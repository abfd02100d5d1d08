"""The directory's Slack edge: users.info on a cache miss, users.list to warm it, user_change
and team_join, keeping it whole (forms list its people themselves: a newcomer must be there).
Whichever of them says someone was deactivated, what they had open closes and nothing queued
reaches them (bot.services.lifecycle, bot.notify.lifecycle)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar, cast

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.notify import lifecycle as notify_lifecycle
from bot.services import directory, lifecycle
from bot.services.events import first_time

log = logging.getLogger(__name__)

T = TypeVar("T")
FETCH_BUDGET = 1.5  # seconds of users.info a request may spend before its 3-second ack


def with_directory(
    deps: Deps,
    client: WebClient,
    team_id: str,
    user_ids: Iterable[str],
    work: Callable[[Session, dict[str, directory.Person]], T],
) -> T:
    """Run `work` in one unit of work with these people in the directory cache.

    A warm cache costs nothing extra: the check and the work share one transaction, committed
    with the other listeners' waiting units (`Deps.group_unit`), and this returns after that
    commit. Otherwise the transaction ends without writing, users.info runs outside any
    transaction, and the work runs in a fresh one. `work` may run more than once.
    """
    ids = list(user_ids)
    now = deps.now()

    def warm(session: Session) -> tuple[list[str], T | None]:
        people, stale = directory.lookup(session, team_id, ids, now, deps.people)
        if stale:
            return stale, None
        return [], work(session, people)

    stale, result = deps.group_unit(warm)
    if not stale:
        return cast(T, result)  # `work` ran: its result, whatever T is (None included)
    _fetch(deps, client, team_id, stale)
    return deps.group_unit(
        lambda session: work(session, directory.people(session, team_id, ids, deps.people))
    )


def picker_people(
    deps: Deps, session: Session, team_id: str, chooser_id: str
) -> list[tuple[str, str]] | None:
    """The people a form's picker lists itself, or None where Slack's own picker must do: the
    directory is not yet known whole (a static list would leave people out) or is too big."""
    if not deps.slack.directory_complete:
        return None
    return directory.choosable(session, team_id, chooser_id)


def ensure_known(deps: Deps, client: WebClient, team_id: str, user_ids: Iterable[str]) -> None:
    """Fetch the people the cache lacks (or holds too long), outside any transaction."""
    with deps.unit_of_work() as session:
        stale = directory.stale_ids(session, team_id, user_ids, deps.now())
    _fetch(deps, client, team_id, stale)


def _fetch(deps: Deps, client: WebClient, team_id: str, stale: list[str]) -> None:
    """users.info for each id, within FETCH_BUDGET seconds: this runs before an ack.

    A failed or skipped lookup leaves the cache as it was: a stale entry is still used, an
    absent one makes the rules say "I can't find that person" (the warm-up and the periodic
    users.list normally leave nothing to fetch).
    """
    if not stale:
        return
    now = deps.now()
    deadline = time.monotonic() + FETCH_BUDGET
    records: list[directory.UserRecord] = []
    for user_id in stale:
        if time.monotonic() > deadline:
            log.warning(
                "users.info: %d lookups left for later (ack first)", len(stale) - len(records)
            )
            break
        try:
            response = client.users_info(user=user_id)
        except SlackApiError as error:
            log.info("users.info %s: %s", user_id, error.response.get("error"))
            continue
        except OSError as error:
            log.warning("users.info %s unreachable: %s", user_id, error)
            continue
        records.append(directory.record_from_slack(response["user"], team_id))
    if records:
        _store(deps, team_id, records, now)


def sync_all(deps: Deps, client: WebClient, team_id: str, page_size: int = 200) -> int:
    """Warm the whole cache with users.list (Tier 2, so paginate and store page by page)."""
    cursor: str | None = None
    stored = 0
    while True:
        response = client.users_list(limit=page_size, cursor=cursor)
        members: list[dict[str, Any]] = response.get("members") or []
        records = [directory.record_from_slack(m, team_id) for m in members]
        stored += _store(deps, team_id, records, deps.now())
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return stored


def register(app: App) -> None:
    app.event("user_change")(on_user_change)
    app.event("team_join")(on_team_join)


def on_user_change(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """A profile changed; `deleted: true` is a deactivation, `deleted: false` after it a return."""
    _on_user_event(deps_of(context), event, body)


def on_team_join(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    """Someone joined the workspace: in the directory at once, before anyone names them."""
    _on_user_event(deps_of(context), event, body)


def _on_user_event(deps: Deps, event: dict[str, Any], body: dict[str, Any]) -> None:
    user = event.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        return
    team_id = str(body.get("team_id") or user.get("team_id") or "")
    if not team_id:
        return
    record = directory.record_from_slack(user, team_id)
    _store(deps, team_id, [record], deps.now(), event=body)


def _store(
    deps: Deps,
    team_id: str,
    records: list[directory.UserRecord],
    now: datetime,
    event: dict[str, Any] | None = None,
) -> int:
    """Store these users in one unit of work, closing what a deactivation closes.

    A user event that says `deleted` closes whatever the person still had open, even when the
    directory never had them or had them deactivated already (each step is idempotent); a
    users.info or users.list answer does so only for someone the directory had as active, so
    a warm-up does not walk through every account deactivated over the years. An event Slack
    delivers again (its `event_id` seen before) changes nothing.
    """
    with deps.unit_of_work() as session:
        if event is not None and not first_time(session, team_id, event, now):
            return 0
        changes = directory.store_changes(session, team_id, records, now)
        leavers = list(changes.left)
        if event is not None:
            leavers += [r.user_id for r in records if r.deleted and r.user_id not in leavers]
        departures = []
        for user_id in leavers:
            departure = lifecycle.depart(session, team_id, user_id, now)
            departures.append((departure, notify_lifecycle.withdraw(session, departure, now)))
            notify_lifecycle.tell_manager_of_goals(session, departure, now)
    deps.people.remember(team_id, records, now)
    for departure, cancelled in departures:
        log.info(
            "Directory: %s deactivated: %d open check-in(s) closed, %d request(s) of theirs "
            "withdrawn, %d ask(s) to them expired, %d queued message(s) cancelled, %d open "
            "goal(s) flagged to their manager",
            departure.user_id,
            departure.checkins_closed,
            len(departure.withdrawn),
            departure.asks_expired,
            cancelled,
            len(departure.goals_left.objectives) + len(departure.goals_left.key_results)
            if departure.goals_left
            else 0,
        )
    for user_id in changes.returned:
        log.info("Directory: %s is active again: check-ins resume from their next one", user_id)
    if departures:
        deps.notify_outbox()  # the asking DMs of withdrawn requests lose their buttons
    return changes.stored
