"""Kudos by reaction, the pure rules: the setting, which reactions count, what is ignored, which
rule refused, the request key and the minute in which a removal takes a kudos back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.services.directory import Person
from bot.services.reactions import (
    REQUEST_KEY_MAX,
    Ignored,
    Reaction,
    Rule,
    base_name,
    ignored,
    ignored_people,
    refusal_rule,
    value_of,
    within_window,
)
from bot.settings import Settings, describe_problem, parse_kudos_reactions
from handlers.payloads import reaction as reaction_of

CONFIG = {"kudos": None, "tada": "teamwork", "+1": "craft"}
BOT = "UBOT"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("kudos", {"kudos": None}),
        ("", {}),
        (" , ", {}),
        ("tada=teamwork,rocket=ownership", {"tada": "teamwork", "rocket": "ownership"}),
        ("kudos, :tada: = #Teamwork", {"kudos": None, "tada": "teamwork"}),
        ("+1,heart_eyes,star-struck", {"+1": None, "heart_eyes": None, "star-struck": None}),
        ("Clap", {"clap": None}),
    ],
)
def test_the_setting_names_reactions_and_the_values_they_tag(
    text: str, parsed: dict[str, str | None]
) -> None:
    assert parse_kudos_reactions(text) == parsed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tada=", 'names no value after "="'),
        ("ta da", "is not an emoji name"),
        ("=teamwork", "is not an emoji name"),
        ("tada,tada=craft", "tada is listed twice"),
        ("tada::skin-tone-2", "is not an emoji name"),
    ],
)
def test_a_setting_that_cannot_be_read_says_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_kudos_reactions(text)


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-test", **values)  # type: ignore[call-arg]


def test_the_default_is_the_kudos_reaction_and_a_value_must_be_a_company_value() -> None:
    assert _settings().kudos_reactions == {"kudos": None}
    custom = _settings(PULSEBOT_VALUES="craft,care", PULSEBOT_KUDOS_REACTIONS="heart=care")
    assert custom.kudos_reactions == {"heart": "care"}
    with pytest.raises(ValidationError) as refused:
        _settings(PULSEBOT_KUDOS_REACTIONS="tada=teamwrk")
    assert describe_problem(refused.value) == (
        "PULSEBOT_KUDOS_REACTIONS is invalid: tada=teamwrk names a value that is not in "
        "PULSEBOT_VALUES (teamwork,ownership,customers,craft) (see README.md, Configuration)."
    )


@pytest.mark.parametrize(
    ("name", "counts", "value"),
    [
        ("kudos", True, None),
        ("tada", True, "teamwork"),
        ("+1", True, "craft"),
        ("+1::skin-tone-4", True, "craft"),
        ("TADA", True, "teamwork"),
        ("thumbsup", False, None),  # an alias of +1 in Slack's picker, a name of its own here
        ("kudos-cat", False, None),
        ("", False, None),
    ],
)
def test_which_reactions_count(name: str, counts: bool, value: str | None) -> None:
    assert value_of(CONFIG, name) == (counts, value)


def test_a_skin_tone_is_the_same_reaction() -> None:
    assert base_name("+1::skin-tone-2") == base_name("+1") == "+1"


def _reaction(
    giver: str = "UANA", author: str | None = "UBEN", name: str = "kudos", channel: str = "C1"
) -> Reaction:
    return Reaction(giver, author, channel, "1700000000.000100", name)


@pytest.mark.parametrize(
    ("reaction", "reason"),
    [
        (_reaction(), None),
        (_reaction(name="tada"), None),
        (_reaction(name="eyes"), Ignored.NOT_KUDOS),
        (_reaction(author=None), Ignored.NO_AUTHOR),
        (_reaction(author="UANA"), Ignored.OWN_MESSAGE),
        (_reaction(giver=BOT), Ignored.BOT_GIVER),
        (_reaction(author=BOT), Ignored.BOT_AUTHOR),
        (_reaction(name="eyes", author=None), Ignored.NOT_KUDOS),  # the cheapest check first
    ],
)
def test_what_the_event_alone_ignores(reaction: Reaction, reason: Ignored | None) -> None:
    assert ignored(reaction, CONFIG, BOT) == reason


def _person(user_id: str, **flags: bool) -> Person:
    return Person(
        user_id=user_id,
        name=user_id.lower(),
        tz="Europe/Berlin",
        is_bot=flags.get("is_bot", False),
        deleted=flags.get("deleted", False),
        external=flags.get("external", False),
        is_guest=flags.get("is_guest", False),
    )


ANA, BEN = _person("UANA"), _person("UBEN")


@pytest.mark.parametrize(
    ("giver", "author", "reason"),
    [
        (ANA, BEN, None),
        (None, BEN, None),  # a giver Slack could not tell us about: the rules decide
        (_person("UROBOT", is_bot=True), BEN, Ignored.BOT_GIVER),
        (ANA, _person("UROBOT", is_bot=True), Ignored.BOT_AUTHOR),
        (ANA, _person("USLACKBOT", is_bot=True), Ignored.BOT_AUTHOR),
        (ANA, None, Ignored.UNKNOWN_AUTHOR),  # Slack knows no such user: a deleted one
        (ANA, _person("UGONE", deleted=True), None),  # refused by the rules, and said
        (ANA, _person("UEXT", external=True), None),
        (ANA, _person("UDEV", is_guest=True), None),  # guests may receive kudos
    ],
)
def test_what_the_directory_ignores(
    giver: Person | None, author: Person | None, reason: Ignored | None
) -> None:
    assert ignored_people(giver, author) == reason


@pytest.mark.parametrize(
    ("author", "rule"),
    [
        (_person("UGONE", deleted=True), Rule.DEACTIVATED),
        (_person("UEXT", external=True), Rule.EXTERNAL),
        (BEN, Rule.BUDGET),
        (None, Rule.BUDGET),
    ],
)
def test_which_rule_refused(author: Person | None, rule: Rule) -> None:
    assert refusal_rule(author) == rule


def test_the_request_key_is_one_per_giver_message_and_reaction_and_fits_the_column() -> None:
    keys = {
        _reaction().request_key,
        _reaction(name="tada").request_key,
        _reaction(giver="UCHO").request_key,
        _reaction(channel="C2").request_key,
    }
    assert len(keys) == 4
    assert _reaction(name="+1").request_key == _reaction(name="+1::skin-tone-6").request_key
    assert _reaction(author="UCHO").request_key == _reaction().request_key  # the message's
    long = [_reaction(name="x" * 100 + suffix).request_key for suffix in ("a", "b")]
    assert long[0] != long[1] and all(len(k) <= REQUEST_KEY_MAX for k in long)


AT = datetime(2037, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "taken_back"),
    [
        (timedelta(0), True),
        (timedelta(seconds=59), True),
        (timedelta(seconds=60), True),
        (timedelta(seconds=60, microseconds=1), False),
        (timedelta(hours=3), False),
        (timedelta(seconds=-5), True),  # a clock that stepped back: at once
    ],
)
def test_a_removal_within_the_minute_takes_the_kudos_back(
    after: timedelta, taken_back: bool
) -> None:
    assert within_window(AT, AT + after) is taken_back


@pytest.mark.parametrize(
    ("event", "read"),
    [
        (
            {
                "user": "UANA",
                "reaction": "tada",
                "item_user": "UBEN",
                "item": {"type": "message", "channel": "C1", "ts": "1.2"},
            },
            Reaction("UANA", "UBEN", "C1", "1.2", "tada"),
        ),
        (
            {
                "user": "UANA",
                "reaction": "tada",
                "item": {"type": "message", "channel": "C1", "ts": "1.2"},
            },
            Reaction("UANA", None, "C1", "1.2", "tada"),
        ),
        ({"user": "UANA", "reaction": "tada", "item": {"type": "file", "file": "F1"}}, None),
        ({"user": "UANA", "reaction": "tada", "item": {"type": "message", "channel": "C1"}}, None),
        ({"reaction": "tada", "item": {"type": "message", "channel": "C1", "ts": "1.2"}}, None),
        ({"user": "UANA", "item": {"type": "message", "channel": "C1", "ts": "1.2"}}, None),
        ({"user": "UANA", "reaction": "tada"}, None),
        ({"user": "UANA", "reaction": "tada", "item": "message"}, None),
    ],
)
def test_reading_a_reaction_event(event: dict[str, Any], read: Reaction | None) -> None:
    assert reaction_of(event) == read
