"""The Daily.co and Cloudinary sandboxes over loopback, and the app against them."""
