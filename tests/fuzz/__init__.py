"""Fuzzing: hypothesis properties and schemathesis against the OpenAPI document."""
