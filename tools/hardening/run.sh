#!/usr/bin/env bash
# Hardening campaign (issue 6) against an already built whisper-server. Builds nothing.
#
#   tools/hardening/run.sh [BINARY] [--long] [--only malformed,fuzz,slow,overload,security,api,faults,resources]
#
# BINARY defaults to .build/release/whisper-server. CI mode (default) is bounded (about 6 minutes on 2 cores);
# --long raises counts and durations. Needs python3, ffmpeg, curl, models/tiny.en and models/base; strace optional.
# The API fuzzing step installs schemathesis from PyPI into tools/hardening/.venv the first time.
# Prints a summary table and ends with `N passed, M failed`; exits non-zero when a check failed.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
binary=".build/release/whisper-server"
long=""
only="malformed,fuzz,slow,overload,security,api,faults,resources"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --long) long="--long" ;;
        --only) only="$2"; shift ;;
        -h|--help) sed -n 2,8p "$0"; exit 0 ;;
        *) binary="$1" ;;
    esac
    shift
done
[[ -x "$binary" ]] || { echo "no server binary at $binary (build it first)" >&2; exit 2; }
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

here="$root/tools/hardening"
results="$(mktemp /tmp/whisper-hardening-results.XXXXXX)"
log="$(mktemp /tmp/whisper-hardening-server.XXXXXX)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
queue=4
upload_mb=4
# Rate limits are off and the request timeout long: the campaign measures the queue's answers under overload (on a
# loaded machine queued jobs would otherwise end in 504), not the limiter or the deadline (both have their own tests).
# Slow-client timeouts: the defaults (10 s, 30 s) in long mode; a shorter body timeout keeps CI bounded.
header_timeout=10
body_timeout=10; [[ -n "$long" ]] && body_timeout=30
started=$SECONDS

venv="$here/.venv"
if [[ ",$only," == *",api,"* && ! -x "$venv/bin/schemathesis" ]]; then
    echo "installing schemathesis into $venv"
    { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4.3,<5"; } \
        || { echo "could not install schemathesis" >&2; exit 2; }
fi

"$binary" serve --host 127.0.0.1 --port "$port" --models-dir "$root/models" --queue-size "$queue" --workers 1 \
    --max-upload-mb "$upload_mb" --request-timeout 300 --rate-limit-requests 0 --rate-limit-audio-seconds 0 --header-timeout "$header_timeout" --body-timeout "$body_timeout" \
    --preload >"$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$results" "$log"; }
trap cleanup EXIT

for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { echo "server exited at start:" >&2; cat "$log" >&2; exit 2; }
    sleep 0.1
done
echo "server pid $server on port $port (queue $queue, 1 worker, upload limit $upload_mb MiB, header/body timeouts" \
    "$header_timeout/$body_timeout s) from $binary"

common=(--url "http://127.0.0.1:$port" --pid "$server" --results "$results" $long)
step() {  # name, time limit in seconds, script, args...
    local name="$1" limit="$2"; shift 2
    [[ ",$only," == *",$name,"* ]] || return 0
    local begin=$SECONDS
    if ! timeout "$limit" python3 "$@"; then
        echo "{\"category\": \"$name\", \"check\": \"script finished\", \"ok\": false, \"detail\": \"exit non-zero or over ${limit} s\", \"inputs\": 0}" >>"$results"
    fi
    echo "   ($name took $((SECONDS - begin)) s)"
}
big=1; [[ -n "$long" ]] && big=10
step malformed $((120 * big)) "$here/check_malformed.py" "${common[@]}"
step fuzz $((240 * big)) "$here/fuzz_audio.py" "${common[@]}"
step slow $((120 * big)) "$here/slow_clients.py" "${common[@]}" --max-upload-mb "$upload_mb" --cutoff $((body_timeout + 5)) --binary "$binary"
step overload $((180 * big)) "$here/overload.py" "${common[@]}" --queue-size "$queue"
step security 120 "$here/security.py" "${common[@]}" --binary "$binary"

if kill -0 "$server" 2>/dev/null; then
    echo "server still alive at the end (peak RSS $(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$server/status))"
else
    echo "{\"category\": \"server\", \"check\": \"alive at the end\", \"ok\": false, \"detail\": \"server process died; log tail: $(tail -3 "$log" | tr -d '"\\' | tr '\n' ' ')\", \"inputs\": 0}" >>"$results"
fi
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null

step api $((300 * big)) "$here/api_fuzz.py" --binary "$binary" --results "$results" --schemathesis "$venv/bin/schemathesis" $long
step faults $((240 * big)) "$here/faults.py" --binary "$binary" --results "$results" $long
step resources $((900 * big)) "$here/resources.py" --binary "$binary" --results "$results" $long
echo "campaign took $((SECONDS - started)) s"
python3 "$here/summary.py" "$results"
