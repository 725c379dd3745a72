"""What the worker serves on its web port: the JSON API."""
