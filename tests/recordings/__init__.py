"""Recordings: the recording API, the upload worker, reconciling and the Daily client."""
