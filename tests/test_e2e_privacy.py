"""Data rights the way Slack drives them: the real server, the emulator, signed requests.

"Download my data" in App Home puts the export in the person's DM as a file only they see.
An erasure after real kudos (a feed post in the recognition channel, DMs, App Home) replaces
our channel posts that named them with a tombstone, and leaves no row that names them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select

from bot import logs
from bot.cli.main import main
from bot.demo.emulator import SlackEmulator
from bot.settings import get_data_settings, get_database_settings, get_settings
from handlers import ids
from handlers.blocks.privacy import TOMBSTONE
from handlers.users import sync_all
from storage.models import PrivacyAudit
from tests.factories import TEAM
from tests.feedback_flows import all_sent
from tests.server import KUDOS_CHANNEL, RunningServer
from tests.slack_requests import SlackRequests
from tests.test_privacy import scan

ZOE = "UZOE"
NAME, REAL_NAME, EMAIL = "zoeq", "Zoe Quinn", "zoe.quinn@example.com"


@pytest.fixture
def zoe(server: RunningServer, slack: SlackEmulator) -> str:
    slack.add_user(ZOE, NAME, tz="Europe/Berlin", email=EMAIL, real_name=REAL_NAME)
    sync_all(server.deps, WebClient(token=slack.bot_token, base_url=slack.url), TEAM)
    return ZOE


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, slack: SlackEmulator
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("PULSEBOT_", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    monkeypatch.setenv("PULSEBOT_POST_RATE", "50")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    _clear()
    yield
    _clear()


def _clear() -> None:
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    get_data_settings.cache_clear()


def open_home(signed: SlackRequests, slack: SlackEmulator, user_id: str, event: str) -> Any:
    opened = {"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"}
    assert signed.event(opened, event_id=event).status_code == 200
    slack.wait_for("views.publish", timeout=10, predicate=lambda c: c["user_id"] == user_id)
    return slack.home_view(user_id)


def test_download_my_data_sends_the_export_privately_to_the_persons_dm(
    server: RunningServer, slack: SlackEmulator, signed: SlackRequests, zoe: str
) -> None:
    signed.command("/kudos", f"<@{zoe}> thanks for the careful review", user_id="UANA")
    home = open_home(signed, slack, zoe, "EvHOMEZ")
    assert home is not None and ids.PRIVACY_EXPORT_ACTION in json.dumps(home["blocks"])
    response = signed.block_action(
        user_id=zoe, action_id=ids.PRIVACY_EXPORT_ACTION, value="json", view=home
    )
    assert response.status_code == 200
    (shared,) = slack.wait_for("files.completeUploadExternal", timeout=10)
    assert shared["channel_id"] == f"D{zoe}"  # their DM with the bot, nobody else's
    file_id = shared["files"][0]["id"] if isinstance(shared["files"], list) else None
    if file_id is None:
        file_id = json.loads(shared["files"])[0]["id"]
    stored = slack.file(file_id)
    assert stored is not None and stored["channels"] == [f"D{zoe}"]
    export = json.loads(stored["content"])
    assert export["user_id"] == zoe and export["person"]["email"] == EMAIL
    [kudos] = [i for i in export["items"] if i["kind"] == "kudos_received"]
    assert kudos["message"] == "thanks for the careful review" and kudos["people"] == ["UANA", zoe]
    assert "not_included" in export
    all_sent(server)
    with server.deps.unit_of_work() as session:
        [audit] = session.scalars(select(PrivacyAudit)).all()
        assert (audit.action, audit.actor, audit.subject_id) == ("export", f"slack:{zoe}", zoe)
        assert audit.counts == {"kudos_received": 1}


def test_forget_replaces_our_channel_posts_and_no_row_names_them_after(
    server: RunningServer,
    slack: SlackEmulator,
    signed: SlackRequests,
    zoe: str,
    cli_env: None,
    db: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    signed.command("/kudos", "<@UANA> ZQ-kudos for the launch #craft", user_id=zoe)
    signed.command("/kudos", f"<@{zoe}> <@UCHO> thanks {REAL_NAME} for the review", user_id="UBEN")
    signed.command("/kudos", "<@UCHO> unrelated thanks", user_id="UANA")
    open_home(signed, slack, zoe, "EvHOME1")
    open_home(signed, slack, "UANA", "EvHOME2")
    slack.wait_for("chat.postMessage", count=3, predicate=lambda c: c["channel"] == KUDOS_CHANNEL)
    all_sent(server)
    feed = {m["text"]: m["ts"] for m in slack.messages(KUDOS_CHANNEL)}
    assert len(feed) == 3

    assert main(["privacy", "forget", zoe, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Erased {zoe} ({REAL_NAME})" in out
    assert "2  channel posts replaced by a tombstone" in out
    updates = slack.wait_for("chat.update", count=2, timeout=15)
    assert {u["channel"] for u in updates} == {KUDOS_CHANNEL}
    now_in_feed = slack.messages(KUDOS_CHANNEL)
    tombstones = [m for m in now_in_feed if TOMBSTONE in json.dumps(m.get("blocks"))]
    assert len(tombstones) == 2
    assert [m for m in now_in_feed if "unrelated thanks" in m["text"]]  # not about her: kept
    all_sent(server)

    found = scan(db, [zoe, EMAIL, REAL_NAME, NAME, "ZQ-kudos"])
    assert found == [], found

    assert main(["privacy", "forget", zoe, "--yes"]) == 2
    assert "already erased" in capsys.readouterr().err
