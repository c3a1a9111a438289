"""The job platform: one durable queue in MongoDB (`recording_jobs`), the worker processes'
heartbeats and leases, and the periodic tasks the worker runs."""
