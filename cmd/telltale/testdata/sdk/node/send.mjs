// Sends errors through the real @sentry/node SDK to the DSN given as the
// first argument (or $SENTRY_DSN), then flushes and exits 0. Driven by
// TestNodeSDK in cmd/telltale/sdk_test.go, which checks what Telltale made
// of them:
//   - "card declined" (Error) thrown twice from the same place, with
//     different order numbers: one issue, two events;
//   - a TypeError from another place: a second issue;
//   - a captured message: a third issue;
//   - an Error and a RangeError from two places, both with the
//     fingerprint ["payment-failed"]: a fourth issue with two events.
// Every event carries user, tags, release and environment.
import * as Sentry from "@sentry/node";

const dsn = process.argv[2] || process.env.SENTRY_DSN;
if (!dsn) {
  console.error("usage: node send.mjs DSN");
  process.exit(2);
}

// The node transport takes a proxy from http_proxy/https_proxy: send to
// the DSN itself.
for (const k of ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"]) {
  delete process.env[k];
}

Sentry.init({
  dsn,
  release: "shop-node@1.2.3",
  environment: "staging",
  serverName: "sdk-test",
  // Only the error integrations: no OpenTelemetry, http/fetch
  // instrumentation, ANR/local-variables workers, Spotlight or module scan;
  // the transport goes to the DSN (127.0.0.1) and nowhere else.
  defaultIntegrations: false,
  integrations: [
    Sentry.inboundFiltersIntegration(),
    Sentry.functionToStringIntegration(),
    Sentry.linkedErrorsIntegration(),
    Sentry.contextLinesIntegration(),
    Sentry.nodeContextIntegration(),
  ],
  tracesSampleRate: 0,
  sendClientReports: false,
  debug: !!process.env.SENTRY_DEBUG,
});

Sentry.setUser({ id: "alice", email: "alice@example.com" });
Sentry.setTag("region", "eu");
Sentry.setTag("sdk_test", "node");

class PaymentGateway {
  charge(order) {
    throw new Error(`order ${order} failed: card declined`);
  }
}

function checkout(order) {
  new PaymentGateway().charge(order);
}

function processOrder(order) {
  try {
    checkout(order);
  } catch (err) {
    Sentry.captureException(err); // one place: both throws group together
  }
}

for (const order of [1001, 1002]) {
  processOrder(order);
}

function readConfig(cfg) {
  return cfg.database.host; // TypeError: cannot read properties of undefined
}

try {
  readConfig({});
} catch (err) {
  Sentry.captureException(err);
}

Sentry.captureMessage("cache miss for key 42", "warning");

function stripeError() {
  return new Error("stripe timeout");
}

function paypalError() {
  return new RangeError("paypal refused");
}

// Different types from different places: only the fingerprint joins them.
function capturePaymentFailure(provider, err) {
  Sentry.withScope((scope) => {
    scope.setFingerprint(["payment-failed"]);
    scope.setTag("provider", provider);
    Sentry.captureException(err);
  });
}

capturePaymentFailure("stripe", stripeError());
capturePaymentFailure("paypal", paypalError());

const ok = await Sentry.close(5000);
if (!ok) {
  console.error("Sentry.close: not every event was sent in time");
  process.exit(1);
}
