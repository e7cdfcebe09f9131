#!/bin/bash
# postfix-instance.sh - start a throwaway Postfix (Debian's package) that
# lives entirely in DIR, listens on 127.0.0.1:PORT and delivers the virtual
# domain $DOMAIN to Maildirs under DIR/mail/DOMAIN/LOCAL/. Nothing outside
# DIR is written; /etc/postfix and the system service are not touched.
#
# Usage: postfix-instance.sh DIR PORT LOCALPART...
# Env:   DOMAIN (default example.test)
#        RELAYHOST   e.g. [127.0.0.1]:2525: mail for other domains goes there
#        TRANSPORTS  e.g. "a.test=smtp:[127.0.0.1]:2525 b.test=smtp:[127.0.0.1]:2626":
#                    mail for each domain goes to its next hop
#        Without either, mail for other domains is refused (error transport).
# Stop:  postfix -c DIR/etc abort
# Must run as root: master(8) needs it.
#
# Pitfalls handled: every parent of DIR must be searchable by the postfix
# and nobody users; no chroot; maillog_file instead of syslog; `-c DIR/etc`
# on every tool; texthash: maps need no postmap.
set -euo pipefail

[ $# -ge 3 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "postfix-instance.sh: must run as root" >&2; exit 1; }
DIR=$(realpath -m "$1"); PORT=$2; shift 2
DOMAIN=${DOMAIN:-example.test}
RELAYHOST=${RELAYHOST:-}
TRANSPORTS=${TRANSPORTS:-}
OUTBOUND="error:outbound mail disabled"
[ -z "$RELAYHOST" ] || OUTBOUND=smtp
VUID=$(id -u nobody); VGID=$(getent group nogroup | cut -d: -f3)

mkdir -p "$DIR"/{etc,spool,data,log,mail}
chmod 755 "$DIR" "$DIR/etc" "$DIR/log" "$DIR/spool"
chown root:root "$DIR/etc" "$DIR/spool"
chown postfix:postfix "$DIR/data"; chmod 700 "$DIR/data"
chown "$VUID:$VGID" "$DIR/mail"; chmod 700 "$DIR/mail"
p=$DIR
while [ "$p" != / ]; do
    p=$(dirname "$p")
    case $(stat -c %A "$p") in
    *[xt]) ;;
    *) echo "postfix-instance.sh: $p is not world-searchable; chmod o+x it" >&2; exit 1 ;;
    esac
done

cat > "$DIR/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $DIR/spool
data_directory = $DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = pf$PORT.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
mydestination =
alias_maps =
alias_database =
local_transport = error:local delivery disabled
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = texthash:$DIR/etc/vmailbox
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
virtual_minimum_uid = 1
smtp_dns_support_level = disabled
smtp_host_lookup = native
default_transport = $OUTBOUND
relay_transport = \$default_transport
relayhost = $RELAYHOST
transport_maps = texthash:$DIR/etc/transport
maillog_file = $DIR/log/maillog
maillog_file_prefixes = $DIR
biff = no
append_dot_mydomain = no
CF

# No chroot, a loopback smtpd, only the daemons local virtual delivery needs.
cat > "$DIR/etc/master.cf" <<CF
127.0.0.1:$PORT inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
smtp      unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF

: > "$DIR/etc/transport"
for t in $TRANSPORTS; do
    echo "${t%%=*} ${t#*=}" >> "$DIR/etc/transport"
done

: > "$DIR/etc/vmailbox"
for lp in "$@"; do
    echo "$lp@$DOMAIN $DOMAIN/$lp/" >> "$DIR/etc/vmailbox"   # trailing / = Maildir
    install -d -o "$VUID" -g "$VGID" -m 700 "$DIR/mail/$DOMAIN" "$DIR/mail/$DOMAIN/$lp" \
        "$DIR/mail/$DOMAIN/$lp/"{tmp,new,cur}
done

postfix -c "$DIR/etc" check
postfix -c "$DIR/etc" start
for _ in $(seq 100); do
    [ -s "$DIR/spool/pid/master.pid" ] && exit 0
    sleep 0.1
done
echo "postfix-instance.sh: master did not start; see $DIR/log/maillog" >&2
exit 1
