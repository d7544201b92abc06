"""URL pattern pieces shared by the API's routes."""

# Canonical, hyphenated UUIDs only: anything else under an id is a 404, never a 500.
UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
