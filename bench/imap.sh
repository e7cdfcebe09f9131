#!/bin/bash
# imap.sh - IMAP throughput and memory of mailport against Dovecot, in one
# run, on the same mailbox content and with the same load generator
# (bench/imap, which speaks raw IMAP).
#
#   1. Both servers get the same INBOX: the first MESSAGES real messages of
#      the SpamAssassin corpus, APPENDed over IMAP by bench/imap populate.
#   2. Workload (bench/imap load): CLIENTS concurrent clients run phases
#      of one operation type each: login (connect, LOGIN, LOGOUT), SELECT,
#      FETCH 1:* (BODY.PEEK[HEADER]), random FETCH n (BODY.PEEK[]), STORE
#      +/-FLAGS.SILENT (\Flagged), SEARCH (BODY word, FROM, UNSEEN,
#      SUBJECT), APPEND, IDLE enter/exit. Operations per second per phase
#      and overall (all operations / sum of phase times).
#   3. Memory per idle connection (bench/imap idlemem): CONNS logged-in
#      connections (50 users x CONNS/50, from 20 loopback addresses, so
#      mailport's default per-IP 50 / per-user 20 limits hold) SELECT INBOX
#      and IDLE, half of them first, then the other half; resident memory
#      of the server's process tree (mailport:
#      one process; Dovecot: master and children, one imap process per
#      connection) before and after, per connection: RSS (what the issue
#      asks for; Dovecot's shared pages are counted in every process) and
#      PSS (shared pages divided among processes); and the marginal cost,
#      from the second half alone.
#   4. A 100,000-message mailbox in mailport (bench/imap fill, through the
#      store while the server is stopped): time of SELECT INBOX and of
#      UID FETCH 1:* (FLAGS) over the wire.
# Each measurement runs REPEAT times, alternating which server goes first;
# the summary shows medians (the machine may be shared).
#
# Both servers check the same argon2id password hash at LOGIN (mailport's
# own, copied into Dovecot's passwd-file), so login costs compare.
#
# Env: MESSAGES=2000 CLIENTS=10 SCALE=1 (operations per client multiplier)
#      CONNS=1000 BIG=100000 REPEAT=3 CORPUS=../../shared/corpus
#      KEEP=1 keeps the temp dir.
# Needs root (Dovecot's master), go, dovecot (Debian's dovecot-imapd), sqlite3.
set -euo pipefail

MESSAGES=${MESSAGES:-2000}
CLIENTS=${CLIENTS:-10}
SCALE=${SCALE:-1}
CONNS=${CONNS:-1000}
BIG=${BIG:-100000}
REPEAT=${REPEAT:-3}
DOMAIN=example.test
IDLE_USERS=50

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (Dovecot's master needs it)"
for tool in go dovecot doveadm sqlite3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install dovecot-imapd sqlite3; Go 1.26)"
done
for v in MESSAGES CLIENTS CONNS BIG REPEAT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ $((CONNS % IDLE_USERS)) = 0 ] || die "CONNS must be a multiple of $IDLE_USERS"
[ -d "$CORPUS" ] || die "no corpus at $CORPUS (set CORPUS)"
# 1,000 connections on each side of loopback, plus Dovecot's processes.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * CONNS + 200)) ] || die "ulimit -n is $(ulimit -n); need $((2 * CONNS + 200))"

TMP=$(mktemp -d /tmp/mailport-imapbench.XXXXXX)
chmod 755 "$TMP" # Dovecot's users must traverse it
MP_PID=""
DC_PID=""

cleanup() {
    local rc=$?
    stop_pids $MP_PID $DC_PID
    remove_tmp $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

# --- mailport ------------------------------------------------------------
echo "building mailport and the load generator ..."
build_mailport imap imapbench
MP="$TMP/mailport"
LG="$TMP/imapbench"
MPD="$TMP/mp"
MP_BASE=$(free_ports_base)
MP_PORT=$((MP_BASE + 143))
echo "$PASS" > "$TMP/admin.pw"
# Loopback only; the SMTP per-IP limit is raised for symmetry with the
# smtp bench (IMAP's own limits are imapd's defaults, 50 per IP and 20
# per user, which this bench stays within).
mailport_init "$MP_BASE" $((CONNS + 100))
grep -q '^[[:space:]]*listen_address = "127.0.0.1"' "$MPD/mailport.toml" || die "could not set listen_address in mailport.toml"
"$MP" domain add "$DOMAIN" --data "$MPD" >/dev/null || die "mailport domain add failed"
echo "creating $((IDLE_USERS + 2)) mailport users ..."
for u in bench big $(seq -f 'bench%g' 0 $((IDLE_USERS - 1))); do
    echo "$PASS" | "$MP" user add "$u@$DOMAIN" --password-stdin --data "$MPD" >/dev/null || die "mailport user add $u failed"
done
# Dovecot checks the very same argon2id hash (same cost per login):
# libsodium reads m, t and p from the PHC string.
HASH=$(sqlite3 "$MPD/mailport.db" "SELECT password_hash FROM accounts WHERE address = 'bench@$DOMAIN'")
[[ $HASH == '$argon2id$'* ]] || die "unexpected password hash format in mailport.db: ${HASH:0:20}"
echo "filling big@$DOMAIN with $BIG messages through the store ..."
"$LG" fill --data "$MPD" --user "big@$DOMAIN" --n "$BIG" || die "fill failed"
mailport_serve
wait_listening "$MP_PORT" mailport 300

# --- Dovecot -------------------------------------------------------------
DC="$TMP/dovecot"
DC_PORT=$(free_port)
mkdir -p "$DC/run" "$DC/state" "$DC/home"
chown dovecot:dovecot "$DC/home"
for u in bench big $(seq -f 'bench%g' 0 $((IDLE_USERS - 1))); do
    echo "$u@$DOMAIN:{ARGON2ID}$HASH::::::"
done > "$DC/users"
chmod 644 "$DC/users"
cat > "$DC/dovecot.conf" <<EOF
# A throwaway Dovecot for bench/imap.sh: everything under $DC.
base_dir = $DC/run
state_dir = $DC/state
log_path = $DC/dovecot.log
info_log_path = $DC/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_max_userip_connections = $((CONNS + 100))
default_process_limit = $((CONNS + 200))
default_client_limit = $((2 * CONNS + 200))
passdb {
  driver = passwd-file
  args = $DC/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$DC/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DC_PORT
  }
  inet_listener imaps {
    port = 0
  }
  # High-performance mode (one login process serves many connections).
  service_count = 0
  process_min_avail = $(nproc)
}
service imap {
  process_limit = $((CONNS + 200))
}
EOF
dovecot -c "$DC/dovecot.conf" -F > "$DC/stdout.log" 2>&1 &
DC_PID=$!
wait_listening "$DC_PORT" dovecot 300

# --- same content on both ---------------------------------------------------
for srv in mailport dovecot; do
    if [ $srv = mailport ]; then port=$MP_PORT; else port=$DC_PORT; fi
    echo "populating $srv with $MESSAGES corpus messages ..."
    "$LG" populate --addr "127.0.0.1:$port" --user "bench@$DOMAIN" --pass "$PASS" --corpus "$CORPUS" --n "$MESSAGES" ||
        die "populate $srv failed"
done

# --- runs --------------------------------------------------------------------
declare -A R # R[server,op] = " v1 v2 ..." (ops/s), and memory/big figures
ops="login select fetch_headers fetch_body store search append idle overall"
failed=0
for rep in $(seq "$REPEAT"); do
    if [ $((rep % 2)) = 1 ]; then order="mailport dovecot"; else order="dovecot mailport"; fi
    for srv in $order; do
        if [ $srv = mailport ]; then port=$MP_PORT pid=$MP_PID; else port=$DC_PORT pid=$DC_PID; fi
        if out=$("$LG" load --addr "127.0.0.1:$port" --user "bench@$DOMAIN" --pass "$PASS" --clients "$CLIENTS" --scale "$SCALE" 2>&1); then
            while read -r tag op n secs; do
                [ "$tag" = RESULT ] || continue
                r=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
                R[$srv,$op]+=" $r"
            done <<<"$out"
            echo "  run $rep: $srv workload done (overall $(grep 'RESULT overall' <<<"$out" | awk '{ printf "%.0f ops/s", $3 / $4 }'))"
        else
            echo "$srv load failed: $out" >&2
            failed=1
        fi
        if out=$("$LG" idlemem --addr "127.0.0.1:$port" --user-format "bench%d@$DOMAIN" --users "$IDLE_USERS" \
            --per-user $((CONNS / IDLE_USERS)) --pass "$PASS" --pid "$pid" 2>&1); then
            line=$(grep 'RESULT idlemem' <<<"$out")
            R[$srv,rss]+=" $(awk '{ for (i = 1; i < NF; i++) if ($i == "rss_per_conn_kib") print $(i + 1) }' <<<"$line")"
            R[$srv,pss]+=" $(awk '{ for (i = 1; i < NF; i++) if ($i == "pss_per_conn_kib") print $(i + 1) }' <<<"$line")"
            R[$srv,mrss]+=" $(awk '{ for (i = 1; i < NF; i++) if ($i == "marginal_rss_per_conn_kib") print $(i + 1) }' <<<"$line")"
            R[$srv,mpss]+=" $(awk '{ for (i = 1; i < NF; i++) if ($i == "marginal_pss_per_conn_kib") print $(i + 1) }' <<<"$line")"
            echo "  run $rep: $srv ${line#RESULT }"
        else
            echo "$srv idlemem failed: $out" >&2
            failed=1
        fi
    done
    if out=$("$LG" big --addr "127.0.0.1:$MP_PORT" --user "big@$DOMAIN" --pass "$PASS" 2>&1); then
        line=$(grep 'RESULT big' <<<"$out")
        R[big,select]+=" $(awk '{ print $6 }' <<<"$line")"
        R[big,fetch]+=" $(awk '{ print $8 }' <<<"$line")"
        echo "  run $rep: mailport ${line#RESULT }"
    else
        echo "big mailbox failed: $out" >&2
        failed=1
    fi
done

echo
echo "IMAP workload: $MESSAGES corpus messages in INBOX, $CLIENTS concurrent clients, median of $REPEAT runs, $(nproc) CPUs"
printf '%-14s %16s %16s %8s\n' operation "mailport ops/s" "dovecot ops/s" ratio
for op in $ops; do
    m=$(median <<<"${R[mailport,$op]:-}") d=$(median <<<"${R[dovecot,$op]:-}")
    r=-
    if [ -n "$m" ] && [ -n "$d" ]; then r=$(awk -v m="$m" -v d="$d" 'BEGIN { printf "%.2f", m / d }'); fi
    printf '%-14s %16s %16s %8s\n' "$op" "${m:-failed}" "${d:-failed}" "$r"
done
echo "(ratio = mailport / dovecot; overall = all operations / sum of phase times)"
echo
echo "Memory per idle connection ($CONNS connections in IDLE), KiB, median of $REPEAT"
printf '%-10s %10s %10s %14s %14s\n' server RSS PSS "marginal RSS" "marginal PSS"
for srv in mailport dovecot; do
    printf '%-10s %10s %10s %14s %14s\n' "$srv" "$(median <<<"${R[$srv,rss]:-}")" "$(median <<<"${R[$srv,pss]:-}")" \
        "$(median <<<"${R[$srv,mrss]:-}")" "$(median <<<"${R[$srv,mpss]:-}")"
done
echo "(RSS/PSS: (after - before) / connections; marginal: the second half of the connections only, which leaves out"
echo " what the first logins made the server allocate once. Dovecot runs one imap process per connection; its RSS"
echo " sum counts shared pages once per process, PSS divides them.)"
echo
echo "mailport, $BIG messages in INBOX, median of $REPEAT: SELECT $(median <<<"${R[big,select]:-}") s, UID FETCH 1:* (FLAGS) $(median <<<"${R[big,fetch]:-}") s"
exit $failed
