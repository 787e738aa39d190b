"""The reception dashboard: staff screens behind a login."""
