"""Attendance: who was in a session's room, when, and for how long.

Each visit (one Daily participant session: one join, one leave) is stored as it is learnt
from `participant.joined` / `participant.left`; this module only summarizes them, so the
answer is the same whatever order or how many times the events arrived.
"""

from ..clock import iso
from ..daily import daily_user_id


def _merged_seconds(intervals):
    """Total length of the union of (start, end) intervals: two tabs open count once."""
    total, covered_until = 0.0, None
    for start, end in sorted(intervals):
        if covered_until is not None:
            start = max(start, covered_until)  # what overlaps is already counted
        if end > start:
            total += (end - start).total_seconds()
            covered_until = end
    return total


def summarize(session, visits, now, closes_at):
    """The attendance of `session` from its `visits`.

    A visit without a leave time is counted until now, but never past `closes_at` (the
    room's closing time), so a lost `participant.left` can't make anyone attend forever.
    """
    participants = session.get("participants") or []
    # Daily carries ids of at most 36 characters: map the digests back to the real ids.
    real_ids = {daily_user_id(user): user for user in participants}
    instructor = session.get("instructor")
    if instructor:
        real_ids[daily_user_id(instructor)] = instructor
    by_user = {}
    for visit in visits:
        user_id = real_ids.get(visit.get("userId"), visit.get("userId"))
        by_user.setdefault(user_id, []).append(visit)

    limit = min(now, closes_at)
    attendees = []
    for user_id, user_visits in by_user.items():
        still_in = any(v.get("leftAt") is None for v in user_visits)
        intervals = [(v["joinedAt"], v.get("leftAt") or limit) for v in user_visits]
        names = [v["userName"] for v in user_visits if v.get("userName")]
        if user_id is not None and user_id == instructor:
            role = "instructor"
        elif user_id in participants:
            role = "participant"
        else:
            role = "guest"
        attendees.append(
            {
                "userId": user_id,
                "userName": names[-1] if names else None,
                "role": role,
                "firstJoinedAt": iso(min(v["joinedAt"] for v in user_visits)),
                "lastLeftAt": None if still_in else iso(max(v["leftAt"] for v in user_visits)),
                "present": still_in and now < closes_at,
                "minutesPresent": round(_merged_seconds(intervals) / 60, 2),
                "visits": len(user_visits),
            }
        )
    attendees.sort(key=lambda a: (a["firstJoinedAt"], a["userId"] or ""))
    total_minutes = round(sum(a["minutesPresent"] for a in attendees), 2)
    return {
        "sessionId": session["_id"],
        "attendees": attendees,
        "totals": {
            "attendees": len(attendees),
            "participantsAttended": sum(a["role"] == "participant" for a in attendees),
            "participantsAdmitted": len(participants),
            "minutesPresent": total_minutes,
            "averageMinutesPresent": round(total_minutes / len(attendees), 2) if attendees else 0,
        },
    }
