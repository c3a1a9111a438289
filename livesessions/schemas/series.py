"""Response schemas of a recurring series (`/sessions/series`): its sessions are the
SessionSchema of `responses`, each with its `seriesId`."""

from marshmallow import fields

from .responses import ResponseSchema, SessionSchema


class SeriesSchema(ResponseSchema):
    """A recurring series' sessions: all of them (POST), the future ones changed (PUT)."""

    seriesId = fields.String(required=True, metadata={"format": "uuid"})
    sessions = fields.List(fields.Nested(SessionSchema), required=True)


class CancelledSeriesSchema(ResponseSchema):
    """DELETE /sessions/series/:id: how many future sessions it cancelled."""

    seriesId = fields.String(required=True, metadata={"format": "uuid"})
    cancelled = fields.Integer(
        required=True, metadata={"description": "How many future occurrences were cancelled"}
    )
