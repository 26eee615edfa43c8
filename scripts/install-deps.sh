#!/usr/bin/env bash
# Installs the real peers that the interop tests talk to, when they are missing.
# Debian packages only; safe to run again (it installs nothing when all are present).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have turnserver || need+=(coturn)
have ffmpeg || need+=(ffmpeg)
have nginx || need+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
have chromium || need+=(chromium)
have chromedriver || need+=(chromium-driver)
have firefox-esr || need+=(firefox-esr)
have ip || need+=(iproute2) # internal/netns: private network namespaces for tests

if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing Debian packages: ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The JavaScript clients of the KVS interop tests (the AWS SDK for JavaScript v3
# and the KVS WebRTC SDK), from interop/js's committed lock file. Optional
# dependencies (React Native and Expo, which the WebRTC SDK's crypto shim lists)
# are left out by interop/js/.npmrc.
have node || need_node=1
if [ "${need_node:-0}" = 1 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing Debian packages: nodejs npm"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
js="$(dirname "$0")/../interop/js"
# node_modules/.installed-lock is the lock file of the last npm ci: run it again
# only when the lock file changed.
if ! cmp -s "$js/package-lock.json" "$js/node_modules/.installed-lock" 2>/dev/null; then
	echo "installing npm packages in interop/js (npm ci)"
	(cd "$js" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-lock)
fi
