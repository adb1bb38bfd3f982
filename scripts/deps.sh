#!/usr/bin/env bash
# Checks the dependency rules in scripts/deps.rules (or the file given) with
# `go list -deps`, one assertion a rule; prints each broken rule with the
# dependencies that break it and exits 1 if any is broken.
#   scripts/deps.sh [rules-file]
#   scripts/deps.sh --self-test   checks that a broken rule is reported
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

check() {
	local rules=$1 failed=0 n=0
	while read -r line; do
		line=${line%%#*}
		[[ -z ${line// } ]] && continue
		read -ra f <<<"$line"
		local cnt=${#f[@]}
		if (( cnt < 3 )); then echo "deps: malformed rule: $line" >&2; return 2; fi
		local re=${f[cnt-1]} kind=${f[cnt-2]} pkgs=("${f[@]:0:cnt-2}")
		local own deps bad
		own=$($GO list "${pkgs[@]}") || return 2
		deps=$($GO list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "${pkgs[@]}") || return 2
		deps=$(grep -vxFf <(printf '%s\n' "$own") <<<"$deps" | grep -v '^$')
		case $kind in
		deny) bad=$(grep -E "$re" <<<"$deps") ;;
		only) bad=$(grep '^github.com/beamgo-dev/beamgo/' <<<"$deps" | grep -vE "$re") ;;
		*) echo "deps: unknown kind $kind in: $line" >&2; return 2 ;;
		esac
		n=$((n + 1))
		if [[ -n $bad ]]; then
			failed=1
			echo "deps: rule broken: ${pkgs[*]} $kind $re"
			sed 's/^/    /' <<<"$bad" | head -20
		fi
	done <"$rules"
	(( failed )) && return 1
	echo "deps: $n rules hold"
}

if [[ ${1-} == --self-test ]]; then
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	# The sdk imports its construction graph, so this rule must be reported.
	echo './sdk only ^$' >"$tmp"
	out=$(check "$tmp"); rc=$?
	if [[ $rc -ne 1 || $out != *"github.com/beamgo-dev/beamgo/internal/graph"* || $out == *protobuf* ]]; then
		echo "deps self-test: a broken rule was not reported (rc $rc): $out"; exit 1
	fi
	echo "deps self-test: a broken rule is reported"
	exit 0
fi
check "${1:-scripts/deps.rules}"
