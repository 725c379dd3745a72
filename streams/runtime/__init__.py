"""The streaming shell: the Faust app, its thin agents, tables, webhook delivery and metrics."""
