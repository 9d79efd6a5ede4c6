-- Wickr files (api/wickr/messaging, issue 13): a Wickr message's file bytes live in the same blob
-- store as Chime attachments (container 'wickr', container_id the conversation, uploader_id the
-- participant key, account_id the content key's tenant: the sender's network or the guest tenant),
-- encrypted under a content key of the message's own scope, destroyed when the message expires or
-- burns; the sweep then deletes the blob and this row.
ALTER TABLE blobs.attachments DROP CONSTRAINT attachments_container_check;
ALTER TABLE blobs.attachments ADD CONSTRAINT attachments_container_check CHECK (container IN ('room', 'conversation', 'wickr'));
