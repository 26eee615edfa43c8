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
