"""Run both sandboxes on their own: `python -m devtools.sandbox --help`. Development only."""

import argparse
import signal
import threading

from .cloudinary import CloudinarySandbox
from .daily import DailySandbox


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--daily-port", type=int, default=7001)
    parser.add_argument("--cloudinary-port", type=int, default=7002)
    parser.add_argument("--daily-api-key", default="sandbox-key-for-local-development-only")
    parser.add_argument("--webhook-url", help="where Daily events are POSTed")
    parser.add_argument("--webhook-secret", help="base64 HMAC secret to sign events with")
    parser.add_argument("--recording-bytes", type=int, default=1_000_000)
    parser.add_argument("--storage-dir", help="where uploads are kept (default: a temp dir)")
    parser.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="do not enforce Daily's rate limits (on by default, as on Daily)",
    )
    parser.add_argument(
        "--neighbour-share",
        type=float,
        default=0.0,
        help="share of each rate limit used by another service on the same key (e.g. 0.25)",
    )
    args = parser.parse_args(argv)

    daily = DailySandbox(
        args.host,
        args.daily_port,
        api_key=args.daily_api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        recording_bytes=args.recording_bytes,
        rate_limits=args.rate_limits,
        neighbour_share=args.neighbour_share,
    ).start()
    cloud = CloudinarySandbox(args.host, args.cloudinary_port, storage_dir=args.storage_dir)
    cloud.start()
    print(f"daily {daily.url}\ncloudinary {cloud.url}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    daily.stop()
    cloud.stop()


if __name__ == "__main__":
    main()
