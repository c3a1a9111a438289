"""Daily.co's webhook, in the order an event travels: received and verified (receive),
dispatched to what it changes (events), and kept delivering (setup)."""
