"""The directory's Slack edge: users.info on a cache miss, users.list to warm it, user_change
and team_join to keep it whole (forms list its people themselves: a newcomer must be there)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps, deps_of
from bot.services import directory
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
        with deps.unit_of_work() as session:
            directory.store_users(session, team_id, records, now)
        deps.people.remember(team_id, records, now)


def sync_all(deps: Deps, client: WebClient, team_id: str, page_size: int = 200) -> int:
    """Warm the whole cache with users.list (Tier 2, so paginate and store page by page)."""
    cursor: str | None = None
    stored = 0
    while True:
        response = client.users_list(limit=page_size, cursor=cursor)
        members: list[dict[str, Any]] = response.get("members") or []
        records = [directory.record_from_slack(m, team_id) for m in members]
        now = deps.now()
        with deps.unit_of_work() as session:
            stored += directory.store_users(session, team_id, records, now)
        deps.people.remember(team_id, records, now)
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return stored


def register(app: App) -> None:
    app.event("user_change")(on_user_change)
    app.event("team_join")(on_user_change)  # the same payload: the person as users.info says


def on_user_change(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    deps = deps_of(context)
    user = event.get("user") or {}
    team_id = str(body.get("team_id") or user.get("team_id") or "")
    if not user.get("id") or not team_id:
        return
    record = directory.record_from_slack(user, team_id)
    now = deps.now()
    with deps.unit_of_work() as session:
        stored = first_time(session, team_id, body, now)
        if stored:
            directory.store_users(session, team_id, [record], now)
    if stored:
        deps.people.remember(team_id, [record], now)
