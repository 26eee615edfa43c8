#!/usr/bin/env bash
# Side-by-side benchmarks in alternating pairs, settled by benchstat.
#
# Each comparison runs COUNT rounds; a round runs our side once and the other
# side once (-count 1 each), the order swapped every round, so that a load
# that comes and goes on a shared machine falls on both sides alike. The raw
# `go test -bench` output of every run goes to OUT/<comparison>.txt, the
# machine's state (commit, CPU, load average before and after) to
# OUT/<comparison>.machine.txt and benchstat's table (medians, 95% intervals,
# p-values of the difference) to OUT/<comparison>.benchstat.txt.
#
# NOTE, when set, is written to the machine file (what else ran, for instance).
#
#   make bench-compare                       # COUNT=10, all comparisons
#   make bench-compare COUNT=20 ONLY=rtmp-handshake
#   make bench-compare ONLY="ice-route ice-check" NOTE="busy: 3 other workers"
set -euo pipefail

COUNT=${COUNT:-10}
BENCHTIME=${BENCHTIME:-1s}
ONLY=${ONLY:-}
NOTE=${NOTE:-}
GO=${GO:-go}
BENCHSTAT_VERSION=${BENCHSTAT_VERSION:-v0.0.0-20260908200009-22c9c6c9d4da}

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/bench/results}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name; -bench pattern (IMPL: the implementation); ours; theirs
comparisons=(
	"rtmp-chunk;^BenchmarkRTMPChunk(Read|Write)\$/^impl=IMPL\$;streamwire;gortmplib"
	"rtmp-amf0;^BenchmarkRTMPAMF0Decode\$//^impl=IMPL\$;streamwire;gortmplib"
	"rtmp-handshake;^BenchmarkRTMPHandshake\$/^impl=IMPL\$;streamwire;gortmplib"
	"rtmp-handshake-cryptorand;^BenchmarkRTMPHandshake\$/^impl=IMPL\$;streamwire-cryptorand;gortmplib"
	"stun-verify;^BenchmarkBindingRequestVerify\$/^impl=IMPL\$;streamwire;pion"
	"stun-build;^BenchmarkBindingResponseBuild\$/^impl=IMPL\$;streamwire;pion"
	"sdp-answer;^BenchmarkAnswerChrome\$/^impl=IMPL\$;streamwire;pion"
	"ice-route;^BenchmarkICEMuxRoute\$/^impl=IMPL\$;streamwire;pion"
	"ice-sessions;^BenchmarkICEMuxSessions\$/^impl=IMPL\$;streamwire;pion"
	"ice-check;^BenchmarkICECheck\$/^impl=IMPL\$;mux-check;stun-server"
	"ice-check-plain;^BenchmarkICECheck\$/^impl=IMPL\$;mux-check;mux-plain"
)

(cd "$root/bench" && $GO test -c -o "$tmp/bench.test" .)
benchstat() { (cd "$root/bench" && $GO run "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" "$@"); }

# machine NAME: the conditions of one comparison's run, kept beside its results.
machine() {
	echo "date: $(date -u +%FT%TZ)"
	echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet -- . ':!bench/results' || echo ' (modified)')"
	echo "go: $($GO version)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "rounds: $COUNT alternating pairs, -benchtime $BENCHTIME"
	[ -z "$NOTE" ] || echo "note: $NOTE"
}

for c in "${comparisons[@]}"; do
	IFS=";" read -r name pattern ours theirs <<<"$c"
	[ -z "$ONLY" ] || [[ " $ONLY " == *" $name "* ]] || continue
	raw="$out/$name.txt"
	: >"$raw"
	machine >"$out/$name.machine.txt"
	for ((i = 1; i <= COUNT; i++)); do
		order=("$ours" "$theirs")
		((i % 2)) || order=("$theirs" "$ours")
		for impl in "${order[@]}"; do
			(cd "$root/bench" && "$tmp/bench.test" -test.run '^$' -test.bench "${pattern//IMPL/$impl}" \
				-test.benchmem -test.count 1 -test.benchtime "$BENCHTIME") >>"$raw"
		done
	done
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/$name.machine.txt"
	benchstat -col "/impl@($ours $theirs)" "$raw" >"$out/$name.benchstat.txt"
	echo "== $name"
	cat "$out/$name.benchstat.txt"
done
