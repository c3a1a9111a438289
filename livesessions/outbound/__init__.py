"""Outbound webhooks: endpoints admins register, and the events delivered to them as
durable, signed jobs of the recording worker."""
