-- Deletes every archived payload although observations point at them.
DELETE FROM raw_payloads;
