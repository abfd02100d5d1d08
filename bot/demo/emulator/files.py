"""files.*: the two-step external upload (ask for a URL, send the bytes, complete), so the app's
digest charts reach a channel the way Slack takes them."""

from __future__ import annotations

import time

from bot.demo.emulator.blockkit import missing_field
from bot.demo.emulator.state import SlackState
from bot.demo.emulator.webapi import Call, JSONDict, SlackError, api, int_arg


class FilesApi(SlackState):
    """Holds uploads and answers files.*."""

    def file(self, file_id: str) -> JSONDict | None:
        """An uploaded file's object plus its bytes under "content"."""
        with self._lock:
            found = self._files.get(file_id)
            return dict(found) if found else None

    def _file_object(self, file_id: str) -> JSONDict:
        found = self._files[file_id]
        return {k: v for k, v in found.items() if k != "content"}

    @api("files.getUploadURLExternal")
    def _files_get_upload_url(self, call: Call) -> JSONDict:
        self._require(call, "filename", "length")
        length = int_arg(call["length"], -1)
        if length <= 0:
            raise SlackError("missing_argument" if length == 0 else "invalid_arguments")
        file_id = self._next_id("F")
        filename = str(call["filename"])
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "binary"
        self._files[file_id] = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": filename,
            "title": filename,
            "mimetype": "image/png" if extension == "png" else "application/octet-stream",
            "filetype": extension,
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "size": length,
            "is_external": False,
            "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{file_id}/{filename}",
            "permalink": f"https://{self.TEAM_DOMAIN}.slack.com/files/{self.bot_user_id}/"
            f"{file_id}/{filename}",
            "alt_txt": call.get("alt_txt"),
            "content": None,
            "channels": [],
            "completed": False,
        }
        base = self.url[: -len("/api/")]
        return {"upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    @api("files.completeUploadExternal")
    def _files_complete_upload(self, call: Call) -> JSONDict:
        entries = call.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments", messages=[missing_field("files")])
        channel_id = call.get("channel_id")
        if channel_id:
            # Slack shares a file into a conversation id (C, G, D, Z), never a user id.
            if str(channel_id)[:1] not in "CGDZ":
                raise SlackError("invalid_channel")
            try:
                channel_id = self._resolve_post_target(str(channel_id))
            except SlackError:
                raise SlackError("invalid_channel") from None
        for entry in entries:
            found = self._files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if found is None or found["content"] is None:
                raise SlackError("file_not_found")
        completed = []
        for entry in entries:
            found = self._files[entry["id"]]
            found["title"] = entry.get("title") or found["title"]
            found["completed"] = True
            if channel_id:
                found["channels"] = [channel_id]
            completed.append(self._file_object(entry["id"]))
        if channel_id:
            content = {
                "text": str(call.get("initial_comment") or ""),
                "blocks": None,
                "metadata": None,
                "files": completed,
            }
            self._store_message(str(channel_id), content, call)
        return {"files": completed}
