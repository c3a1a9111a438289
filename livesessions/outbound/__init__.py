"""Outbound webhooks: endpoints admins register, and the events delivered to them as
durable, signed jobs of the worker. The top feature: nothing imports it but the app."""
