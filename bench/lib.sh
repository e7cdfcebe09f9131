# lib.sh - shell helpers shared by the benchmarks in bench/ (sourced, not run):
#   . "$(dirname "$0")/lib.sh"
# The sourcing script sets ROOT (the repository) and TMP (its temp dir);
# the mailport helpers also use MP (the binary) and MPD (its data dir).

# die MSG: print "SCRIPT: MSG" on stderr and exit 1.
die() { echo "$(basename "$0"): $*" >&2; exit 1; }

now() { date +%s.%N; }

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_ports_base: a ports base N whose every mailport listener port is free.
free_ports_base() {
    local base p ok
    for _ in $(seq 50); do
        base=$((20000 + (RANDOM % 400) * 100))
        ok=1
        for p in 25 80 110 143 443 465 587 993 995 4190; do
            if listening $((base + p)); then ok=0; break; fi
        done
        [ $ok = 1 ] && { echo "$base"; return; }
    done
    die "no free ports base found"
}

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((30000 + RANDOM % 30000))
        listening "$p" || { echo "$p"; return; }
    done
    die "no free port found"
}

wait_listening() { # PORT WHAT [TRIES, 50 ms apart; default 200]
    for _ in $(seq "${3:-200}"); do listening "$1" && return; sleep 0.05; done
    die "$2 is not listening on 127.0.0.1:$1"
}

# rate N T0 T1: N per second between two now() stamps.
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }

# median: the median of the numbers on stdin (space or newline separated).
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# stop_pids PID...: TERM each live process, give it 10 s, then KILL.
stop_pids() {
    local pid
    for pid in "$@"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

# abort_postfix DIR: stop the throwaway Postfix instance in DIR, if started.
abort_postfix() {
    if [ -s "$1/spool/pid/master.pid" ]; then
        postfix -c "$1/etc" abort >/dev/null 2>&1 || true
    fi
}

# remove_tmp RC: remove TMP unless KEEP=1 or RC (the exit status) is not 0.
remove_tmp() {
    if [ "${KEEP:-}" = 1 ] || [ "$1" != 0 ]; then
        echo "temp dir kept: $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}

# build_mailport HELPER OUT: build mailport to $TMP/mailport and the
# bench helper ./bench/HELPER to $TMP/OUT.
build_mailport() {
    (cd "$ROOT" && go build -o "$TMP/mailport" ./cmd/mailport && go build -o "$TMP/$2" "./bench/$1") ||
        die "go build failed"
}

# mailport_init BASE MAXCONN: init $MPD (password in $TMP/admin.pw) with
# ports base BASE, listening on loopback only, max_connections_per_ip
# MAXCONN; further sed expressions may follow as arguments.
mailport_init() {
    local base=$1 maxconn=$2
    shift 2
    "$MP" init --data "$MPD" --hostname mx.bench.test --ports-base "$base" \
        --admin-password-file "$TMP/admin.pw" > "$TMP/init.log" 2>&1 || { cat "$TMP/init.log" >&2; die "mailport init failed"; }
    sed -i -e 's/^\([[:space:]]*listen_address[[:space:]]*=\).*/\1 "127.0.0.1"/' \
        -e "s/^\([[:space:]]*max_connections_per_ip[[:space:]]*=\).*/\1 $maxconn/" "$@" "$MPD/mailport.toml"
}

# mailport_serve: start "$MP serve" on $MPD in the background (log in
# $TMP/mailport.log); sets MP_PID.
mailport_serve() {
    "$MP" serve --data "$MPD" > "$TMP/mailport.log" 2>&1 &
    MP_PID=$!
}
