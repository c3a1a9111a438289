"""The HTTP API in process: sessions, auth, joins, attendance, documents and settings."""
