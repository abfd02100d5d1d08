"""users.*: the people of the workspace as Slack shows them, with tz fields computed for now
and pagination by opaque cursor, so the app's directory sync meets Slack's real shapes."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.demo.emulator.state import SlackState
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api, int_arg, json_copy

_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "UTC": "Coordinated Universal Time",
}


def _tz_fields(tz: str) -> JSONDict:
    """tz, tz_label and tz_offset as Slack computes them: for the current moment."""
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    abbreviation = now.tzname() or ""
    return {
        "tz": tz,
        "tz_label": _TZ_LABELS.get(abbreviation, abbreviation),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
    }


class UsersApi(SlackState):
    """Adds people to the workspace and answers users.*."""

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        tz: str | None = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
        email: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        real_name: str | None = None,
        title: str = "",
    ) -> JSONDict:
        """Add (or replace, e.g. to deactivate) a user; returns the Slack user object.

        tz=None builds a user without tz fields, which Slack sometimes sends; a team_id other
        than the emulator's is a Slack Connect (external) user, absent from users.list.
        """
        name = name or user_id.lower()
        real_name = real_name if real_name is not None else name.replace(".", " ").title()
        if email is None and not is_bot and user_id != "USLACKBOT":
            email = f"{name}@example.com"
        team = team_id or self.team_id
        profile: JSONDict = {
            "title": title,
            "phone": "",
            "skype": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": name,
            "display_name_normalized": name,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": hashlib.md5(user_id.encode()).hexdigest()[:12],
            "first_name": real_name.split(" ")[0],
            "last_name": " ".join(real_name.split(" ")[1:]),
            "image_24": f"https://avatars.example.com/{user_id}_24.png",
            "image_48": f"https://avatars.example.com/{user_id}_48.png",
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "image_192": f"https://avatars.example.com/{user_id}_192.png",
            "team": team,
        }
        if email is not None:
            profile["email"] = email
        # Each bot user has its own bot id; the emulator's own bot matches auth.test.
        if is_bot:
            profile.update(
                {"bot_id": "B" + user_id[1:], "api_app_id": self.app_id, "always_active": True}
            )
        user: JSONDict = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
        }
        if tz is not None:
            user.update(_tz_fields(tz))
        user.update(
            {
                "profile": profile,
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": is_restricted,
                "is_ultra_restricted": is_ultra_restricted,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
                "is_email_confirmed": email is not None,
                "who_can_share_contact_card": "EVERYONE",
            }
        )
        with self._lock:
            self._users[user_id] = user
        return json_copy(user)

    def users(self) -> list[JSONDict]:
        """Every user object of the workspace (a copy), in the order they were added."""
        with self._lock:
            return json_copy(list(self._users.values()))

    @api("users.info")
    def _users_info(self, call: Call) -> JSONDict:
        user = self._users.get(str(call.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    @api("users.list")
    def _users_list(self, call: Call) -> JSONDict:
        """Real pagination: an opaque cursor naming the next user, "" at the end."""
        members = [u for u in self._users.values() if u["team_id"] == self.team_id]
        start = 0
        cursor = call.get("cursor")
        if cursor:
            try:
                marker = base64.b64decode(str(cursor), validate=True).decode()
                next_id = marker.removeprefix("user:")
                start = next(i for i, u in enumerate(members) if u["id"] == next_id)
            except (ValueError, StopIteration):
                raise SlackError("invalid_cursor") from None
        limit = min(int_arg(call.get("limit"), 0), 1_000) or len(members)
        page = members[start : start + limit]
        rest = members[start + limit :]
        next_cursor = base64.b64encode(f"user:{rest[0]['id']}".encode()).decode() if rest else ""
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    @api("users.lookupByEmail")
    def _users_lookup_by_email(self, call: Call) -> JSONDict:
        """Deactivated and external users are not found by email, as in Slack."""
        self._require(call, "email")
        email = str(call["email"]).lower()
        for user in self._users.values():
            if (
                user["profile"].get("email", "").lower() == email
                and not user["deleted"]
                and user["team_id"] == self.team_id
            ):
                return {"user": user}
        raise SlackError("users_not_found")
