"""Who is calling and what they may do: tokens (`tokens`), the access policy (`policy`) and
the audit of unauthenticated calls (`access`)."""
