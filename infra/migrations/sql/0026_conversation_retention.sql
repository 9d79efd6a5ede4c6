-- Conversation retention (issue 13): a conversation's retention is its own (guide §4.7.1: its
-- account's setting, or 90 days when it spans accounts), so the purge destroys the day keys of each
-- conversation scope in every tenant that sealed in it; this index finds them by scope.
CREATE INDEX IF NOT EXISTS data_keys_live_scope ON keys.data_keys (scope, day) WHERE wrapped IS NOT NULL;
