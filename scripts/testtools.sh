#!/usr/bin/env bash
# Installs the Debian packages the test suite drives: chromium for the
# upload page's browser test; curl, jq, xmlsec1 and python3 for the README
# walk-through test. Idempotent and non-interactive; it never fetches a
# browser or a tool any other way.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
for tool in curl jq xmlsec1 python3; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "testtools.sh: ${missing[*]} missing and this is not root (and there is no sudo); run as root: apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	sudo="sudo"
fi

$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
