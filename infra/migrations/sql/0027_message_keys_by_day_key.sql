-- The retention purge deletes the message keys of a destroyed day key in key order, a batch at a
-- time (datakeys.ClearDestroyed): an index on (data_key_id, key_id) lets each batch start where the
-- rows left begin, where the index on data_key_id alone made every batch of a large purge walk past
-- the entries the batches before it had deleted (1,000,000 messages: 33 s of a 54 s purge).
CREATE INDEX message_keys_day_key ON keys.message_keys (data_key_id, key_id);
DROP INDEX keys.message_keys_day;
