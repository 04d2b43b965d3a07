"""Send errors through the real sentry-python SDK to a Telltale test server.

Usage: /usr/bin/python3 send.py DSN   (or $SENTRY_DSN)

Driven by TestPythonSDK in cmd/telltale/sdk_test.go, which checks what
Telltale made of them:
  - "card declined" (ValueError) raised twice from the same place, with
    different order numbers: one issue, two events;
  - a KeyError from another place: a second issue;
  - a captured message: a third issue;
  - a ValueError and a TimeoutError from two places, both with the
    fingerprint ["payment-failed"]: a fourth issue with two events.
Every event carries user, tags, release and environment. The client is
closed (flushing its queue) before the exit.
"""

import os
import sys

import sentry_sdk


class PaymentGateway:
    def charge(self, order):
        raise ValueError("order %d failed: card declined" % order)


def checkout(order):
    PaymentGateway().charge(order)


def process_order(order):
    try:
        checkout(order)
    except ValueError:
        sentry_sdk.capture_exception()  # one place: both raises group together


def read_config(cfg):
    return cfg["database"]["host"]  # KeyError: 'database'


def stripe_charge():
    raise ValueError("stripe timeout")


def paypal_charge():
    raise TimeoutError("paypal refused")


def capture_payment_failure(provider, charge):
    try:
        charge()
    except Exception as err:
        with sentry_sdk.push_scope() as scope:
            scope.fingerprint = ["payment-failed"]
            scope.set_tag("provider", provider)
            sentry_sdk.capture_exception(err)


def main():
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SENTRY_DSN")
    if not dsn:
        print("usage: send.py DSN", file=sys.stderr)
        return 2
    sentry_sdk.init(
        dsn=dsn,
        release="shop-python@1.2.3",
        environment="staging",
        server_name="sdk-test",
        # No framework integrations probing installed packages; the
        # transport goes to the DSN (127.0.0.1) and nowhere else.
        auto_enabling_integrations=False,
        http_proxy="",
        https_proxy="",
        traces_sample_rate=0,
        send_client_reports=False,
        debug=bool(os.environ.get("SENTRY_DEBUG")),
    )
    sentry_sdk.set_user({"id": "alice", "email": "alice@example.com"})
    sentry_sdk.set_tag("region", "eu")
    sentry_sdk.set_tag("sdk_test", "python")

    for order in (1001, 1002):
        process_order(order)

    try:
        read_config({})
    except KeyError:
        sentry_sdk.capture_exception()

    sentry_sdk.capture_message("cache miss for key 42", level="warning")

    capture_payment_failure("stripe", stripe_charge)
    capture_payment_failure("paypal", paypal_charge)

    client = sentry_sdk.Hub.current.client
    client.close(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
