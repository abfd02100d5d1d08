"""Every id Slack sends back to us, in one place: the listeners and the manifest test read it."""

from __future__ import annotations

import re

# Slash commands (manifest.yml `features.slash_commands`)
KUDOS_COMMAND = "/kudos"

# Shortcuts (manifest.yml `features.shortcuts`)
GIVE_KUDOS_SHORTCUT = "give_kudos"

# Modals
KUDOS_MODAL = "kudos_modal"

# Modal blocks and actions
KUDOS_RECIPIENTS_BLOCK = "kudos_recipients"
KUDOS_RECIPIENTS_ACTION = "recipients"
KUDOS_MESSAGE_BLOCK = "kudos_message"
KUDOS_MESSAGE_ACTION = "message"
KUDOS_VALUES_BLOCK = "kudos_values"
KUDOS_VALUES_ACTION = "values"
# Optional: one of the recipients' goals the kudos recognises (a static select).
KUDOS_GOAL_BLOCK = "kudos_goal"
KUDOS_GOAL_ACTION = "goal"

# Events we subscribe to (manifest.yml `settings.event_subscriptions.bot_events`)
BOT_EVENTS = (
    "app_home_opened",
    "user_change",
    "team_join",
    "message.im",
    "app_uninstalled",
    "tokens_revoked",
    "reaction_added",
    "reaction_removed",
)


# ----- Check-ins ----------------------------------------------------------------------------
CHECKIN_COMMAND = "/checkin"

# Buttons in the prompt / reminder DMs; each button's `value` is the occurrence id.
CHECKIN_START_ACTION = "checkin_start"
CHECKIN_SNOOZE_ACTION = "checkin_snooze"
CHECKIN_SKIP_ACTION = "checkin_skip"
CHECKIN_ACTIONS_BLOCK = "checkin_actions"
# The manager's copy of an answer; `value` is the occurrence id.
CHECKIN_REPLY_ACTION = "checkin_reply"

# The answer modal: one input block per question, block_id = prefix + question id.
CHECKIN_MODAL = "checkin_modal"
CHECKIN_QUESTION_BLOCK_PREFIX = "checkin_q_"
CHECKIN_ANSWER_ACTION = "answer"
CHECKIN_ANONYMOUS_BLOCK = "checkin_anonymous"
CHECKIN_ANONYMOUS_ACTION = "anonymous"

CHECKIN_BUTTON_ACTIONS = (
    CHECKIN_START_ACTION,
    CHECKIN_SNOOZE_ACTION,
    CHECKIN_SKIP_ACTION,
    CHECKIN_REPLY_ACTION,
)

# The manager's reply to an answer (modal opened by the Reply button).
CHECKIN_REPLY_MODAL = "checkin_reply_modal"
CHECKIN_REPLY_BLOCK = "checkin_reply"
CHECKIN_REPLY_INPUT = "reply"

# `/checkin setup`: one block per field; every element has the same action id.
SETUP_MODAL = "checkin_setup_modal"
SETUP_INPUT = "value"
SETUP_NAME_BLOCK = "setup_name"
SETUP_MEMBERS_BLOCK = "setup_members"
SETUP_DAYS_BLOCK = "setup_days"
SETUP_TIME_BLOCK = "setup_time"
SETUP_QUESTIONS_BLOCK = "setup_questions"
SETUP_REMIND_BLOCK = "setup_remind"
SETUP_CLOSE_BLOCK = "setup_close"
SETUP_DM_BLOCK = "setup_dm"
SETUP_CHANNEL_BLOCK = "setup_channel"


# ----- Two-way feedback -------------------------------------------------------------------
FEEDBACK_COMMAND = "/feedback"
GIVE_FEEDBACK_SHORTCUT = "give_feedback"

# The give form: one block per field, every element's action id is FEEDBACK_INPUT.
FEEDBACK_MODAL = "feedback_modal"
FEEDBACK_INPUT = "value"
FEEDBACK_RECIPIENT_BLOCK = "feedback_recipient"
FEEDBACK_RECIPIENT_ACTION = "feedback_recipient_chosen"  # dispatches: the form re-offers options
FEEDBACK_WELL_BLOCK = "feedback_went_well"
FEEDBACK_BETTER_BLOCK = "feedback_could_be_better"
FEEDBACK_VALUE_BLOCK = "feedback_value"
FEEDBACK_VISIBILITY_BLOCK = "feedback_visibility"
# The recipient's DM; each button's `value` is the feedback id.
FEEDBACK_THANK_ACTION = "feedback_thank"
FEEDBACK_REPLY_ACTION = "feedback_reply"
FEEDBACK_REPLY_MODAL = "feedback_reply_modal"
FEEDBACK_REPLY_BLOCK = "feedback_reply"

# `/feedback request`: the form, the DM to each person asked (`value`: the request id) and
# the answer form (one block per question: prefix + index).
REQUEST_MODAL = "feedback_request_modal"
REQUEST_PEOPLE_BLOCK = "request_people"
REQUEST_TOPIC_BLOCK = "request_topic"
REQUEST_QUESTION_BLOCK_PREFIX = "request_q_"
REQUEST_DUE_BLOCK = "request_due"
REQUEST_SUBJECT_BLOCK = "request_subject"
REQUEST_ANSWER_ACTION = "request_answer"
REQUEST_DECLINE_ACTION = "request_decline"
REQUEST_ANSWER_MODAL = "feedback_answer_modal"
REQUEST_ANSWER_BLOCK_PREFIX = "answer_q_"
REQUEST_SHARE_BLOCK = "answer_share"

# "Answer the team": a manager's answer to anonymous upward notes, to every direct report.
ANSWER_TEAM_ACTION = "answer_team"
ANSWER_TEAM_MODAL = "answer_team_modal"
ANSWER_TEAM_BLOCK = "answer_team_text"


# ----- Weekly digest ------------------------------------------------------------------------
# `/checkin digest` and View more open modals with this callback id (nothing is submitted).
DIGEST_MODAL = "digest_modal"
# Buttons in the digest DM: `value` is the occurrence id (View more) or the person (Give kudos).
DIGEST_VIEW_MORE_ACTION = "digest_view_more"
DIGEST_GIVE_KUDOS_ACTION = "digest_give_kudos"
# Reply inside the View more modal (pushes the reply modal); `value` is the occurrence id.
DIGEST_REPLY_ACTION = "digest_reply"
# App Home, managers: "Preview digest".
DIGEST_PREVIEW_ACTION = "digest_preview"
DIGEST_BUTTON_ACTIONS = (
    DIGEST_VIEW_MORE_ACTION,
    DIGEST_GIVE_KUDOS_ACTION,
    DIGEST_REPLY_ACTION,
    DIGEST_PREVIEW_ACTION,
)


# ----- Data rights --------------------------------------------------------------------------
# App Home: "Download my data" sends the person's export to their DM.
PRIVACY_EXPORT_ACTION = "privacy_export"

# ----- Goals ------------------------------------------------------------------------------
GOALS_COMMAND = "/goals"
GOALS_INPUT = "value"  # every input of the goal forms has this action id
# "Update" on a key result: `value` is the key result's id. Buttons sharing one actions block
# need ids of their own there, so each carries its place as a suffix: `goals_update_0`, ...
GOALS_UPDATE_ACTION = "goals_update"
GOALS_UPDATE_ACTIONS = re.compile(r"^goals_update(?:_\d+)?$")
# Their actions block: prefix + the list it sits in + ":" + the objective (`goals_kr:mine:12`).
GOALS_RESULTS_BLOCK_PREFIX = "goals_kr:"
# "New goal" (App Home, an empty `/goals`) opens the creation form.
GOALS_NEW_ACTION = "goals_new"
# "See all": `value` is which list (`mine`, `team`, `company`, `user:U123`); opens it whole.
GOALS_SEE_ALL_ACTION = "goals_see_all"
GOALS_LIST_MODAL = "goals_list_modal"
# The creation form: one block per field, key results numbered from 1 (`goal_kr2_target`).
GOALS_NEW_MODAL = "goals_new_modal"
GOALS_TITLE_BLOCK = "goal_title"
GOALS_KIND_BLOCK = "goal_kind"
GOALS_VISIBILITY_BLOCK = "goal_visibility"
GOALS_PARENT_BLOCK = "goal_parent"
GOALS_RESULT_BLOCK = "goal_kr{index}_{field}"  # field: title, measure, start, target, unit, owner
GOALS_ADD_RESULT_BLOCK = "goal_add_kr"
GOALS_ADD_RESULT_ACTION = "goals_add_result"
# The Update form of one key result.
GOALS_UPDATE_MODAL = "goals_update_modal"
GOALS_VALUE_BLOCK = "goal_value"
GOALS_DONE_BLOCK = "goal_done"
GOALS_CONFIDENCE_BLOCK = "goal_confidence"
GOALS_NOTE_BLOCK = "goal_note"

# ----- Goals: a cycle's end -------------------------------------------------------------------
# Buttons in the closing DM; each button's `value` is the objective id, and each objective's
# actions block is GOAL_CLOSING_BLOCK_PREFIX + its id (what a refresh of the DM lists again).
GOAL_CLOSE_ACTION = "goal_close"
GOAL_CARRY_OVER_ACTION = "goal_carry_over"
GOAL_CLOSING_BLOCK_PREFIX = "goal_closing_"
# The Close form: the outcome and the final score (every element's action id is the input's).
GOAL_CLOSE_MODAL = "goal_close_modal"
GOAL_CLOSE_INPUT = "value"
GOAL_CLOSE_OUTCOME_BLOCK = "goal_close_outcome"
GOAL_CLOSE_SCORE_BLOCK = "goal_close_score"


COMMANDS = (KUDOS_COMMAND, CHECKIN_COMMAND, FEEDBACK_COMMAND, GOALS_COMMAND)
MESSAGE_SHORTCUTS = (GIVE_KUDOS_SHORTCUT, GIVE_FEEDBACK_SHORTCUT)
