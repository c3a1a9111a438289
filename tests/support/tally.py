"""The fuzzing tally printed at the end of a run."""


class TallySummary:
    """A pytest plugin printing a fuzzing tally at the end of the run.

    `tally` maps (item, "units" | "requests" | status) -> count, for one test file.
    """

    def __init__(self, title, tally, unit):
        self.title, self.tally, self.unit = title, tally, unit

    def pytest_terminal_summary(self, terminalreporter):
        items = sorted({item for item, _ in self.tally})
        if not items:
            return
        terminalreporter.write_sep("-", self.title)
        for item in items:
            answers = ", ".join(
                f"{status}: {count}"
                for (name, status), count in sorted(self.tally.items(), key=str)
                if name == item and isinstance(status, int)
            )
            terminalreporter.write_line(
                f"{item}: {self.tally[item, self.unit]} {self.unit}, "
                f"{self.tally[item, 'requests']} requests ({answers})"
            )
        units = sum(self.tally[item, self.unit] for item in items)
        requests = sum(self.tally[item, "requests"] for item in items)
        terminalreporter.write_line(f"total: {units} {self.unit}, {requests} requests")


def register_tally(config, name, title, tally, unit):
    """Register a TallySummary once per run."""
    if not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(TallySummary(title, tally, unit), name)
