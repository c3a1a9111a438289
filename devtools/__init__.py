"""Development tools, run from the checkout and never installed (`pip install .` ships
`livesessions` only): the Daily.co and Cloudinary sandboxes, the demo data and `make run`'s
dev server. The tests and the benches use them; `livesessions` imports nothing from here."""
