#!/bin/bash
# smtp-outbound.sh - outbound throughput of mailport against Postfix,
# measured in one run with the same messages, sizes and concurrency.
#
# Both servers relay the same load to one local sink (bench/outbound sink:
# an SMTP server that counts messages, beside a DNS server naming it the MX
# of remote.test):
#   mailport  SESSIONS authenticated submission sessions (AUTH PLAIN on
#             loopback), each sending its share of MESSAGES to
#             rcpt@remote.test on one connection (bench/outbound submit);
#             each message is DKIM-signed (DKIM=1), queued durably, then
#             delivered by the queue after an MX lookup.
#   Postfix   Debian's package, a throwaway instance in a temp dir
#             (bench/postfix-instance.sh, RELAYHOST=[127.0.0.1]:SINK), the
#             same load injected with smtp-source -d over its SMTP port
#             (no AUTH, no signing: Postfix has neither built in).
# The clock starts before the first message is sent and stops when the
# sink has received the last one; after each run the sender's queue must
# drain and the sink must hold exactly MESSAGES (no loss, no duplicates).
# The time until the load generator finished (all 250s) is shown too.
#
# Each run is repeated REPEAT times, alternating which server goes first;
# the medians are compared.
#
# Env: MESSAGES=2000 SESSIONS=10 SIZE=5000 (payload bytes) REPEAT=3
#      DKIM=1 (0: mailport does not sign either)  TIMEOUT=600
#      KEEP=1 keeps the temp dir (logs, data) for inspection.
# Needs root (Postfix's master), go, curl, postfix (smtp-source).
# Exit status: 0 when every run delivered every message exactly once.
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-5000}
REPEAT=${REPEAT:-3}
DKIM=${DKIM:-1}
TIMEOUT=${TIMEOUT:-600}
DOMAIN=example.test
REMOTE=remote.test
RCPT=rcpt@$REMOTE

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master needs it)"
for tool in go curl postfix postqueue smtp-source; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install postfix curl; Go 1.26)"
done
for v in MESSAGES SESSIONS SIZE REPEAT TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done

TMP=$(mktemp -d /tmp/mailport-outbench.XXXXXX)
chmod 755 "$TMP" # Postfix's users must traverse it
MP_PID="" SINK_PID=""
PF_DIR="$TMP/postfix"

cleanup() {
    local rc=$?
    stop_pids $MP_PID $SINK_PID
    abort_postfix "$PF_DIR"
    remove_tmp $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ctl() { curl -fsS -m "$TIMEOUT" "http://127.0.0.1:$CTL_PORT/$1"; }

echo "building mailport and the bench helper ..."
build_mailport outbound outbound

# --- the sink (and the DNS server naming it the MX of remote.test) --------
SINK_PORT=$(free_port)
CTL_PORT=$(free_port)
"$TMP/outbound" sink --smtp "127.0.0.1:$SINK_PORT" --ctl "127.0.0.1:$CTL_PORT" \
    --dns-file "$TMP/dns.addr" --domain "$REMOTE" > "$TMP/sink.log" 2>&1 &
SINK_PID=$!
wait_listening "$SINK_PORT" sink
wait_listening "$CTL_PORT" "sink control"
for _ in $(seq 100); do [ -s "$TMP/dns.addr" ] && break; sleep 0.05; done
DNS_ADDR=$(cat "$TMP/dns.addr") || die "the sink's DNS server did not start"

# --- mailport ------------------------------------------------------------
MP="$TMP/mailport"
MPD="$TMP/mp"
MP_BASE=$(free_ports_base)
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$TMP/admin.pw"
head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$TMP/user.pw"
# Loopback only; the queue asks the sink's DNS server and reaches MX hosts
# on the sink's port; room for every session and no hourly cap (the
# per-user limits are meant for people, not for a load generator).
mailport_init "$MP_BASE" $((SESSIONS + 10)) \
    -e "s/^\([[:space:]]*max_messages_per_hour[[:space:]]*=\).*/\1 100000000/" \
    -e "s/^\([[:space:]]*smtp_port[[:space:]]*=\).*/\1 $SINK_PORT/" \
    -e "s/^\[dns\]\$/[dns]\n  servers = [\"$DNS_ADDR\"]/"
grep -q "servers = \[\"$DNS_ADDR\"\]" "$MPD/mailport.toml" && grep -q "smtp_port = $SINK_PORT" "$MPD/mailport.toml" ||
    die "could not set [dns] servers and [queue] smtp_port in mailport.toml"
"$MP" domain add "$DOMAIN" --data "$MPD" >/dev/null || die "mailport domain add failed"
"$MP" user add "sender@$DOMAIN" --password-stdin --data "$MPD" < "$TMP/user.pw" >/dev/null || die "mailport user add failed"
if [ "$DKIM" = 1 ]; then
    "$MP" dkim generate "$DOMAIN" --algorithm ed25519 --data "$MPD" >/dev/null || die "mailport dkim generate failed"
fi
mailport_serve
MP_SUB=$((MP_BASE + 587))
wait_listening "$MP_SUB" mailport

# --- Postfix ---------------------------------------------------------------
PF_PORT=$(free_port)
DOMAIN=$DOMAIN RELAYHOST="[127.0.0.1]:$SINK_PORT" "$BENCH/postfix-instance.sh" "$PF_DIR" "$PF_PORT" postmaster \
    > "$TMP/postfix-start.log" 2>&1 || { cat "$TMP/postfix-start.log" >&2; die "postfix did not start"; }
wait_listening "$PF_PORT" postfix

# drained CMD...: waits until CMD prints nothing but its header (an empty queue).
mailport_drained() { [ "$("$MP" queue list --data "$MPD" | wc -l)" -le 1 ]; }
postfix_drained() { postqueue -c "$PF_DIR/etc" -p 2>/dev/null | grep -q "Mail queue is empty"; }

wait_drained() { # WHO
    local deadline=$(($(date +%s) + TIMEOUT))
    until "${1}_drained"; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "$1: queue not empty after ${TIMEOUT}s" >&2; return 1; }
        sleep 0.1
    done
}

# check_count WHO: the sink holds exactly MESSAGES.
check_count() {
    local got
    got=$(ctl count)
    [ "$got" = "$MESSAGES" ] || { echo "$1: the sink received $got messages, want $MESSAGES" >&2; return 1; }
}

# load_mailport / load_postfix LOG: send the messages; fail unless all got 250.
load_mailport() {
    "$TMP/outbound" submit --addr "127.0.0.1:$MP_SUB" --user "sender@$DOMAIN" --password-file "$TMP/user.pw" \
        --from "sender@$DOMAIN" --to "$RCPT" --messages "$MESSAGES" --sessions "$SESSIONS" --size "$SIZE" > "$1" 2>&1 ||
        { cat "$1" >&2; return 1; }
}
load_postfix() {
    # smtp-source stops at the first reply that is not 2xx/3xx and says so
    # on stderr, so a clean exit with an empty log means all 250s.
    if ! smtp-source -4 -d -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -M load.bench.test \
        -f "sender@$DOMAIN" -t "$RCPT" "127.0.0.1:$PF_PORT" > "$1" 2>&1 || [ -s "$1" ]; then
        cat "$1" >&2
        return 1
    fi
}

# run WHO REP: one run; prints "accepted-rate delivered-rate" in msg/s.
run() {
    local who=$1 t0 ta t1
    ctl "reset?n=$MESSAGES" >/dev/null || return 1
    t0=$(now)
    "load_$who" "$TMP/$who-$2.log" || { echo "$who: load failed (log: $TMP/$who-$2.log)" >&2; return 1; }
    ta=$(now)
    t1=$(ctl wait) || { echo "$who: the sink did not get $MESSAGES messages within ${TIMEOUT}s (got $(ctl count))" >&2; return 1; }
    wait_drained "$who" || return 1
    check_count "$who" || return 1
    echo "$(rate "$MESSAGES" "$t0" "$ta") $(rate "$MESSAGES" "$t0" "$t1")"
}

MP_ACC="" MP_DEL="" PF_ACC="" PF_DEL=""
failed=0
for rep in $(seq "$REPEAT"); do
    if [ $((rep % 2)) = 1 ]; then order="mailport postfix"; else order="postfix mailport"; fi
    for who in $order; do
        if r=$(run "$who" "$rep"); then
            read -r acc del <<<"$r"
            echo "  run $rep: $who accepted $acc msg/s, delivered to the sink $del msg/s"
            if [ "$who" = mailport ]; then MP_ACC+=" $acc" MP_DEL+=" $del"; else PF_ACC+=" $acc" PF_DEL+=" $del"; fi
        else
            failed=1
        fi
    done
done

echo
echo "SMTP outbound: $MESSAGES messages x $SIZE bytes to $RCPT, $SESSIONS concurrent sessions, median of $REPEAT runs, $(nproc) CPUs, mailport DKIM=$DKIM"
printf '%-28s %16s %16s %8s\n' "" "mailport msg/s" "postfix msg/s" ratio
for row in "submitted (all 250s):ACC" "delivered (sink has all):DEL"; do
    label=${row%:*} key=${row#*:}
    mv="MP_$key" pv="PF_$key"
    m=$(median <<<"${!mv}") p=$(median <<<"${!pv}")
    r=-
    if [ -n "$m" ] && [ -n "$p" ]; then r=$(awk -v m="$m" -v p="$p" 'BEGIN { printf "%.2f", m / p }'); fi
    printf '%-28s %16s %16s %8s\n' "$label" "${m:-failed}" "${p:-failed}" "$r"
done
echo "(ratio = mailport / postfix; the delivered row is the outbound throughput)"
exit $failed
