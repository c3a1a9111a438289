"""Recordings: start and stop on Daily.co, the durable upload jobs, and the worker that
publishes each finished recording on Cloudinary."""
