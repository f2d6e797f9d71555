"""twoway: a Slack app that nudges teams from broadcasting toward conversation."""
