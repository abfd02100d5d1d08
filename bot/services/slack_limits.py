"""Slack's size limits, in one place: the rules validate against them and the Block Kit
builders clip to them, so both always agree on what Slack will accept."""

TEXT_MAX = 3000  # a section's text, a plain_text_input's max_length, a message's fallback text
HEADER_MAX = 150  # a header block's text
BUTTON_TEXT_MAX = 75  # a button's or an option's text
MODAL_TITLE_MAX = 24  # a modal's title, submit and close labels
PRIVATE_METADATA_MAX = 3000  # a view's private_metadata
MESSAGE_BLOCKS_MAX = 50  # blocks in one message
VIEW_BLOCKS_MAX = 100  # blocks in a modal or the Home tab
SELECT_OPTIONS_MAX = 100  # options in a static_select
