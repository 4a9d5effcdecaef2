#!/bin/sh
# Regenerates the iptables-save -c samples of this directory: loads rules.txt into a
# throwaway network namespace with iptables-nft and with iptables-legacy, dumps the
# counters, inserts a rule (so positions shift), sends traffic, and dumps again.
#
# Needs root, iptables, ping, curl and socat. Everything runs inside `unshare -n`; the
# script refuses to run in any namespace but a fresh one, so it never touches the
# machine's own rules. Run from this directory: sudo sh gen.sh
set -eu
if [ "${1:-}" != "--inside" ]; then
	for backend in nft legacy; do
		unshare -n sh "$0" --inside "$backend"
	done
	exit 0
fi
backend=$2
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ] || [ "$(ip -o link | wc -l)" != 1 ]; then
	echo "gen.sh: not in a fresh network namespace; refusing to touch iptables" >&2
	exit 1
fi
ip link set lo up
ip route add 203.0.113.0/24 dev lo
"iptables-$backend-restore" < rules.txt
"iptables-$backend-save" -c > "$backend-before.txt"
"iptables-$backend" -I INPUT 1 -p udp --dport 9 -j DROP
socat TCP-LISTEN:8080,bind=127.0.0.1,fork SYSTEM:'echo hello' & server=$!
sleep 0.3
ping -q -c 3 -W 1 127.0.0.1 > /dev/null
curl -s -m 2 http://203.0.113.1/ > /dev/null || true
kill "$server"
"iptables-$backend-save" -c > "$backend-after.txt"
