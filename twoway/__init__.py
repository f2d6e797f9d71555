"""The `twoway` process: its command line, how its parts are put together and served, and the demo."""
