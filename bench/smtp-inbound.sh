#!/bin/bash
# smtp-inbound.sh - SMTP inbound delivery rate of mailport against Postfix,
# measured in one run with the same messages and the same concurrency.
#
# Both servers get the same smtp-source(1) load (Postfix's own load
# generator) on 127.0.0.1:
#   mailport  durable store: its 250 is sent only after the message file and
#             its metadata are fsynced, so the clock stops when smtp-source
#             exits; the stored count is then verified in the database
#             (bench/countmail, which also runs the store's integrity check).
#   Postfix   Debian's package, a throwaway instance in a temp dir
#             (bench/postfix-instance.sh) delivering to Maildir: the clock
#             stops when all messages are files in the Maildir's new/.
# Two modes: "conn" opens a connection per message, "reuse" keeps each
# session's connection for its next message (smtp-source -d).
#
# Each mode runs REPEAT times, alternating which server goes first; the
# medians are compared (fsync latency on a shared machine varies a lot).
#
# Env: MESSAGES=2000 SESSIONS=10 SIZE=5000 (payload bytes) MODES="conn reuse"
#      REPEAT=3
#      KEEP=1 keeps the temp dir (logs, data) for inspection.
# Needs root (Postfix's master), go, postfix (smtp-source).
# Exit status: 0 when both servers stored every message, 1 otherwise; the
# ratio never changes it.
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-5000}
MODES=${MODES:-conn reuse}
REPEAT=${REPEAT:-3}
DOMAIN=example.test
TIMEOUT=${TIMEOUT:-600} # seconds to wait for one run's deliveries

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master needs it)"
for tool in go postfix smtp-source; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install postfix; Go 1.26)"
done
for v in MESSAGES SESSIONS SIZE REPEAT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
for mode in $MODES; do
    case $mode in conn | reuse) ;; *) die "unknown mode $mode in MODES (conn, reuse)" ;; esac
done

TMP=$(mktemp -d /tmp/mailport-bench.XXXXXX)
chmod 755 "$TMP" # Postfix's users must traverse it
MP_PID=""
DNS_PID=""
PF_DIR="$TMP/postfix"

cleanup() {
    local rc=$?
    stop_pids $MP_PID $DNS_PID
    abort_postfix "$PF_DIR"
    remove_tmp $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- mailport ------------------------------------------------------------
echo "building mailport ..."
build_mailport countmail countmail
(cd "$ROOT" && go build -o "$TMP/outbound" ./bench/outbound) || die "go build failed"

# mailport checks SPF, DKIM and DMARC on every inbound message (Postfix
# here does not). This machine's resolver may be unreachable, and then each
# check waits for DNS timeouts: give mailport a local DNS server (the bench
# sink's), which answers at once, as a resolver with a warm cache would.
"$TMP/outbound" sink --smtp "127.0.0.1:$(free_port)" --ctl "127.0.0.1:$(free_port)" \
    --dns-file "$TMP/dns.addr" --domain remote.test > "$TMP/dns.log" 2>&1 &
DNS_PID=$!
for _ in $(seq 100); do [ -s "$TMP/dns.addr" ] && break; sleep 0.05; done
DNS_ADDR=$(cat "$TMP/dns.addr") || die "the local DNS server did not start"
MP="$TMP/mailport"
MPD="$TMP/mp"
MP_BASE=$(free_ports_base)
MP_PORT=$((MP_BASE + 25))
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$TMP/admin.pw"
# Loopback only, and room for every session (the default per-IP limit is
# meant for strangers, not for a load generator).
mailport_init "$MP_BASE" $((SESSIONS + 10)) -e "s/^\[dns\]\$/[dns]\n  servers = [\"$DNS_ADDR\"]/"
grep -q "servers = \[\"$DNS_ADDR\"\]" "$MPD/mailport.toml" || die "could not set [dns] servers in mailport.toml"
grep -q '^[[:space:]]*listen_address = "127.0.0.1"' "$MPD/mailport.toml" || die "could not set listen_address in mailport.toml"
"$MP" domain add "$DOMAIN" --data "$MPD" >/dev/null || die "mailport domain add failed"
for mode in $MODES; do
    head -c 24 /dev/urandom | base64 | "$MP" user add "$mode@$DOMAIN" --password-stdin --data "$MPD" >/dev/null ||
        die "mailport user add $mode@$DOMAIN failed"
done
mailport_serve
wait_listening "$MP_PORT" mailport

# --- Postfix ---------------------------------------------------------------
PF_PORT=$(free_port)
# shellcheck disable=SC2086 # one local part per mode
DOMAIN=$DOMAIN "$BENCH/postfix-instance.sh" "$PF_DIR" "$PF_PORT" $MODES > "$TMP/postfix-start.log" 2>&1 ||
    { cat "$TMP/postfix-start.log" >&2; die "postfix did not start"; }
wait_listening "$PF_PORT" postfix

# load MODE PORT LOG: run smtp-source; fails unless every message got a 250.
load() {
    local mode=$1 port=$2 log=$3 reuse=()
    [ "$mode" = reuse ] && reuse=(-d)
    # smtp-source stops at the first reply that is not 2xx/3xx and says so
    # on stderr, so a clean exit with an empty stderr means all 250s.
    if ! smtp-source -4 "${reuse[@]}" -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -M bench.remote.test \
        -f sender@remote.test -t "$mode@$DOMAIN" "127.0.0.1:$port" > "$log" 2>&1 || [ -s "$log" ]; then
        cat "$log" >&2
        return 1
    fi
}

# count_maildir DIR: files in a Maildir's new/.
count_maildir() { find "$1/new" -type f | wc -l; }

# run_mailport MODE WANT: one load against mailport; prints msg/s.
# WANT is the INBOX count expected afterwards (runs accumulate).
run_mailport() {
    local mode=$1 want=$2 t0 t1 got
    t0=$(now)
    if ! load "$mode" "$MP_PORT" "$TMP/mp-$mode.log"; then
        echo "mailport: smtp-source failed (log: $TMP/mp-$mode.log)" >&2
        return 1
    fi
    t1=$(now)
    got=$("$TMP/countmail" --data "$MPD" "$mode@$DOMAIN" | awk '{print $2}') || got=error
    if [ "$got" != "$want" ]; then
        echo "mailport: $got messages stored in $mode@$DOMAIN, want $want" >&2
        return 1
    fi
    rate "$MESSAGES" "$t0" "$t1"
}

# run_postfix MODE WANT: one load against Postfix, timed until WANT files
# are in the Maildir's new/; prints msg/s.
run_postfix() {
    local mode=$1 want=$2 t0 t1 n deadline md="$PF_DIR/mail/$DOMAIN/$1"
    t0=$(now)
    if ! load "$mode" "$PF_PORT" "$TMP/pf-$mode.log"; then
        echo "postfix: smtp-source failed (log: $TMP/pf-$mode.log)" >&2
        return 1
    fi
    deadline=$(($(date +%s) + TIMEOUT))
    while n=$(count_maildir "$md"); [ "$n" -lt "$want" ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "postfix: $n of $want messages in $md after ${TIMEOUT}s (log: $PF_DIR/log/maillog)" >&2
            return 1
        fi
        sleep 0.02
    done
    t1=$(now)
    if [ "$n" -ne "$want" ]; then
        echo "postfix: $n messages in $md, want $want" >&2
        return 1
    fi
    rate "$MESSAGES" "$t0" "$t1"
}

declare -A MP_RUNS PF_RUNS
failed=0
for mode in $MODES; do
    for rep in $(seq "$REPEAT"); do
        want=$((rep * MESSAGES))
        # Alternate who goes first, so a slow phase of a shared machine
        # does not always hit the same server.
        if [ $((rep % 2)) = 1 ]; then order="mailport postfix"; else order="postfix mailport"; fi
        for srv in $order; do
            if r=$("run_$srv" "$mode" "$want"); then
                echo "  $mode run $rep: $srv $r msg/s"
                if [ "$srv" = mailport ]; then MP_RUNS[$mode]+=" $r"; else PF_RUNS[$mode]+=" $r"; fi
            else
                failed=1
            fi
        done
    done
done

echo
echo "SMTP inbound delivery: $MESSAGES messages x $SIZE bytes, $SESSIONS concurrent sessions, median of $REPEAT runs, $(nproc) CPUs"
printf '%-6s %16s %16s %8s\n' mode "mailport msg/s" "postfix msg/s" ratio
for mode in $MODES; do
    m=$(median <<<"${MP_RUNS[$mode]:-}") p=$(median <<<"${PF_RUNS[$mode]:-}")
    r=-
    if [ -n "$m" ] && [ -n "$p" ]; then r=$(awk -v m="$m" -v p="$p" 'BEGIN { printf "%.2f", m / p }'); fi
    printf '%-6s %16s %16s %8s\n' "$mode" "${m:-failed}" "${p:-failed}" "$r"
done
echo "(ratio = mailport / postfix; conn = one connection per message, reuse = smtp-source -d)"
exit $failed
