"""Live sessions: their API, the operations that keep MongoDB and Daily.co in step,
attendance and calendar feeds."""
