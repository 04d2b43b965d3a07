#!/bin/sh
# Installs the real Sentry SDKs that cmd/telltale/sdk_test.go drives:
#   - @sentry/node, pinned in node/package-lock.json, with `npm ci` into
#     node/node_modules (when node_modules is missing and npm is present);
#   - python3-sentry-sdk from Debian for /usr/bin/python3 (when it cannot
#     import sentry_sdk, we are root and apt-get exists).
# Idempotent, and never fails the build: it says what it did or why it
# could not, and exits 0. The tests skip (naming this script) when an SDK
# is missing.
dir=$(cd "$(dirname "$0")" && pwd)

if [ -d "$dir/node/node_modules/@sentry/node" ]; then
	echo "sdk install: @sentry/node already in $dir/node/node_modules"
elif ! command -v npm >/dev/null 2>&1; then
	echo "sdk install: npm not found, TestNodeSDK will skip (install nodejs and npm)"
elif (cd "$dir/node" && npm ci --no-audit --no-fund >/dev/null 2>&1); then
	echo "sdk install: npm ci in $dir/node: @sentry/node $(cd "$dir/node" && node -p 'require("@sentry/node/package.json").version' 2>/dev/null)"
else
	echo "sdk install: npm ci in $dir/node failed (offline?), TestNodeSDK will skip"
fi

py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import sentry_sdk' >/dev/null 2>&1; then
	echo "sdk install: sentry_sdk $("$py" -c 'import sentry_sdk; print(sentry_sdk.VERSION)') already importable by $py"
elif [ ! -x "$py" ]; then
	echo "sdk install: $py not found, TestPythonSDK will skip"
elif [ "$(id -u)" != 0 ]; then
	echo "sdk install: not root, TestPythonSDK will skip (run: sudo apt-get install -y python3-sentry-sdk)"
elif ! command -v apt-get >/dev/null 2>&1; then
	echo "sdk install: apt-get not found, TestPythonSDK will skip (install sentry-sdk for $py)"
elif DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-sentry-sdk >/dev/null 2>&1 ||
	{ apt-get update -q >/dev/null 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-sentry-sdk >/dev/null 2>&1; }; then
	echo "sdk install: apt-get installed python3-sentry-sdk $("$py" -c 'import sentry_sdk; print(sentry_sdk.VERSION)' 2>/dev/null)"
else
	echo "sdk install: apt-get install python3-sentry-sdk failed (offline?), TestPythonSDK will skip"
fi
exit 0
