"""A course's attendance per student, summed from each counted session's attendance.

Each session is summarized by `attendance.summarize`, as `GET /sessions/:id/attendance`
answers it, so a course's minutes are the sums of the sessions' minutes, rounding included.
"""


def _share(minutes: float, scheduled: int) -> float:
    """Minutes present over minutes scheduled, 2 decimals; 0 with nothing scheduled. Not
    capped: time in sessions the student was not admitted to counts too."""
    return round(minutes / scheduled, 2) if scheduled else 0.0


def course_attendance(course_id: str, sessions: list, summaries: list) -> dict:
    """The report of `sessions` (the counted ones) from their `summaries` (one each).

    A student is anyone admitted to a counted session (in its `participants`) or anyone
    else who joined its room with a user id, the session's instructor excepted.
    """
    students = {}

    def student(user_id):
        return students.setdefault(
            user_id, {"admitted": 0, "attended": 0, "minutes": 0.0, "scheduled": 0}
        )

    for doc, summary in zip(sessions, summaries, strict=True):
        for user_id in dict.fromkeys(doc.get("participants") or []):  # a duplicate once
            row = student(user_id)
            row["admitted"] += 1
            row["scheduled"] += doc.get("duration") or 0
        for attendee in summary["attendees"]:
            if attendee["userId"] is None or attendee["role"] == "instructor":
                continue
            row = student(attendee["userId"])
            row["attended"] += 1
            row["minutes"] += attendee["minutesPresent"]
    rows = []
    for user_id in sorted(students):
        row = students[user_id]
        minutes = round(row["minutes"], 2)
        rows.append(
            {
                "studentId": user_id,
                "sessionsAdmitted": row["admitted"],
                "sessionsAttended": row["attended"],
                "minutesPresent": minutes,
                "shareOfScheduledMinutes": _share(minutes, row["scheduled"]),
            }
        )
    return {"courseId": course_id, "sessions": len(sessions), "students": rows}
