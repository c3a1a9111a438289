"""Daily.co: the REST client (client, transport, pacing in limits/windows/turns, breaker,
names and tokens), and its webhook in the order an event travels: received and verified
(receive, repository), dispatched to what it changes (events), and kept delivering (setup)."""
