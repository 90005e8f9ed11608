#!/usr/bin/env bash
# Installs Debian's chromium for the upload page's browser test. Idempotent
# and non-interactive; it never fetches a browser any other way.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "chromium.sh: /usr/bin/chromium is missing and this is not root (and there is no sudo); run as root: apt-get install -y chromium" >&2
		exit 1
	fi
	sudo="sudo"
fi

$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
/usr/bin/chromium --version
