"""End to end on real servers and subprocesses: classes, recordings, load, shutdown."""
