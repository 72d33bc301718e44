"""`scm alerts`: after each run, a digest of what needs a look in the published snapshot (projected stockouts
within the lead time, late purchase-order lines, KPIs off target, files and rows the run did not load), sent
to the configured channels. docs/alerts.md describes the settings."""
