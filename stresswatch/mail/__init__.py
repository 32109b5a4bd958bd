"""Alert e-mail: building messages, queueing them in the outbox and delivering them over SMTP.

- `message`: the digest and test messages (Jinja2 templates in mail/templates/, plain text first,
  HTML last, the headline chart inline by Content-ID, a link or path to the day's report). The
  chart is the report's PNG when the report for D exists, else drawn by `reports.charts`.
- `smtp`: the SMTP session (`connect`: TLS with certificate verification, login), the password
  from the environment or a credential file, `Transient` for failures worth retrying.
- `delivery`: the outbox side: `enqueue` (in the caller's transaction), `deliver` (drain it, with
  back-off and per-recipient retries) and `send_test`.

The outbox rows are kept by `stresswatch.store.outbox`. Mail never imports `stresswatch.alerts`
(alerts -> mail only): a digest reaches it as plain data (`message.DigestContent`). Nothing is
re-exported here: import from the submodules.
"""
