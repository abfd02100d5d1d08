"""The demo's company, as data: people, time zones, the org chart, channels and check-ins.

Thirteen people, each in their own time zone: a director, two managers and their teams. Ids are
fixed so a README or a test can name them; everything dated is computed from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

TEAM_ID = "T0DEMO"
BOT_USER_ID = "UPULSEBOT"
KUDOS_CHANNEL = "C0KUDOS"
GENERAL_CHANNEL = "C0GENERAL"
VALUES = ("teamwork", "ownership", "customers", "craft")
KUDOS_REACTIONS = "kudos,tada=teamwork,rocket=ownership"  # the reaction bar offers these


@dataclass(frozen=True, slots=True)
class DemoPerson:
    user_id: str
    handle: str  # Slack's `name`, what @mentions match
    real_name: str
    title: str
    tz: str
    manager: str | None  # user id
    team: str | None  # team channel id


@dataclass(frozen=True, slots=True)
class DemoChannel:
    channel_id: str
    name: str
    purpose: str


CHANNELS = (
    DemoChannel(KUDOS_CHANNEL, "kudos", "Recognition from pulsebot"),
    DemoChannel("C0PLATFORM", "platform", "Platform team"),
    DemoChannel("C0CUSTOMER", "customer-success", "Customer success team"),
)

DIRECTOR = "U0MAYA"
PLATFORM_MANAGER = "U0ANA"
CUSTOMER_MANAGER = "U0DIEGO"

PEOPLE = (
    DemoPerson(DIRECTOR, "maya", "Maya Chen", "Director of Engineering", "America/New_York", None,
               None),
    DemoPerson(PLATFORM_MANAGER, "ana", "Ana Lima", "Platform lead", "Europe/Lisbon", DIRECTOR,
               "C0PLATFORM"),
    DemoPerson("U0BEN", "ben", "Ben Okafor", "Backend engineer", "Africa/Lagos",
               PLATFORM_MANAGER, "C0PLATFORM"),
    DemoPerson("U0CHLOE", "chloe", "Chloé Martin", "Site reliability", "Europe/Paris",
               PLATFORM_MANAGER, "C0PLATFORM"),
    DemoPerson("U0KENJI", "kenji", "Kenji Sato", "Backend engineer", "Asia/Tokyo",
               PLATFORM_MANAGER, "C0PLATFORM"),
    DemoPerson("U0PRIYA", "priya", "Priya Nair", "Data engineer", "Asia/Kolkata",
               PLATFORM_MANAGER, "C0PLATFORM"),
    DemoPerson("U0LARS", "lars", "Lars Berg", "Security engineer", "Europe/Stockholm",
               PLATFORM_MANAGER, "C0PLATFORM"),
    DemoPerson(CUSTOMER_MANAGER, "diego", "Diego Álvarez", "Customer success lead",
               "America/Mexico_City", DIRECTOR, "C0CUSTOMER"),
    DemoPerson("U0SAM", "sam", "Sam Taylor", "Support engineer", "America/Los_Angeles",
               CUSTOMER_MANAGER, "C0CUSTOMER"),
    DemoPerson("U0ZOE", "zoe", "Zoe Wright", "Account manager", "Australia/Sydney",
               CUSTOMER_MANAGER, "C0CUSTOMER"),
    DemoPerson("U0OMAR", "omar", "Omar Haddad", "Solutions engineer", "Asia/Dubai",
               CUSTOMER_MANAGER, "C0CUSTOMER"),
    DemoPerson("U0LUCIA", "lucia", "Lucía Gómez", "Support engineer", "America/Bogota",
               CUSTOMER_MANAGER, "C0CUSTOMER"),
    DemoPerson("U0TOM", "tom", "Tom Becker", "Onboarding specialist", "Europe/Berlin",
               CUSTOMER_MANAGER, "C0CUSTOMER"),
)

# Who the page shows first: a team member, so a check-in and kudos are one click away.
DEFAULT_PERSON = "U0BEN"


def person(user_id: str) -> DemoPerson | None:
    return next((p for p in PEOPLE if p.user_id == user_id), None)


def reports_of(manager_id: str) -> list[DemoPerson]:
    return [p for p in PEOPLE if p.manager == manager_id]


# Check-in templates as `pulsebot checkins apply` reads them (the README shows the format).
PLATFORM_TEMPLATE = {
    "name": "Platform weekly",
    "owner": PLATFORM_MANAGER,
    "members": [p.user_id for p in reports_of(PLATFORM_MANAGER)],
    "schedule": {"days": ["fri"], "time": "16:00"},
    "remind_after": "4h",
    "close_after": "3d",
    "post_to": {"manager": True, "channel": "C0PLATFORM"},
    "questions": [
        {"id": "done", "text": "What did you get done this week?", "kind": "text",
         "required": True},
        # Each key result the member owns this cycle: its value, confidence and a note.
        {"id": "goals", "kind": "goals"},
        {"id": "pulse", "text": "How do you feel this week?", "kind": "pulse", "required": True},
        {"id": "focus", "text": "Main focus next week?", "kind": "choice",
         "options": ["Ship", "Learn", "Support", "Plan"]},
        # A yes/no blocker question: the form asks "What is blocking you?" beside it.
        {"id": "blocked", "text": "Anything blocking you?", "kind": "yes_no", "blocker": True},
        {"id": "upward", "text": "Anything for your manager?", "kind": "text",
         "anonymous_allowed": True},
    ],
}

CUSTOMER_TEMPLATE = {
    "name": "Customer pulse",
    "owner": CUSTOMER_MANAGER,
    "members": [p.user_id for p in reports_of(CUSTOMER_MANAGER)],
    "schedule": {"days": ["mon", "thu"], "time": "10:00"},
    "remind_after": "2h",
    "close_after": "1d",
    "post_to": {"manager": True},
    "questions": [
        {"id": "pulse", "text": "How are you doing?", "kind": "pulse", "required": True},
        {"id": "win", "text": "A customer win since last time?", "kind": "text"},
        {"id": "goals", "kind": "goals"},
        # A text blocker question, the other form teams use: what blocks, in their words.
        {"id": "blocked", "text": "What's in your way, if anything?", "kind": "text",
         "blocker": True},
        {"id": "upward", "text": "Anything for your manager?", "kind": "text",
         "anonymous_allowed": True},
    ],
}

TEMPLATES = (PLATFORM_TEMPLATE, CUSTOMER_TEMPLATE)
