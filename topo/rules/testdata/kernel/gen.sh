#!/bin/sh
# Regenerates targets-nft.txt and targets-legacy.txt: which targets the kernel accepts
# in which table and built-in chain, directly and through a user chain. Each line is
#   TABLE user=U CHAIN=DV ... -j TARGET [OPTIONS]
# where U says whether a rule with the target could be added to an unreferenced user
# chain (table checks), D whether it could be added to the built-in chain, and V
# whether the built-in chain could then jump to that user chain (chain checks); y or n,
# - when not tried. Every rule also has -p tcp --tcp-flags SYN,RST SYN so targets that
# need TCP load. Targets whose kernel module is missing show n everywhere.
#
# Needs root and iptables. Everything runs inside `unshare -n`; the script refuses to
# run in any namespace but a fresh one. Run from this directory: sudo sh gen.sh
set -eu
if [ "${1:-}" != "--inside" ]; then
	for backend in nft legacy; do
		unshare -n sh "$0" --inside "$backend" > "targets-$backend.txt"
	done
	exit 0
fi
ipt="iptables-$2"
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ] || [ "$(ip -o link | wc -l)" != 1 ]; then
	echo "gen.sh: not in a fresh network namespace; refusing to touch iptables" >&2
	exit 1
fi
targets='ACCEPT|DROP|RETURN|QUEUE|DNAT --to-destination 1.2.3.4|SNAT --to-source 1.2.3.4|MASQUERADE|REDIRECT|NETMAP --to 10.0.0.0/24|TPROXY --on-port 1 --tproxy-mark 1|CT --notrack|NOTRACK|TRACE|MARK --set-mark 1|CONNMARK --set-mark 1|REJECT|LOG|NFLOG|NFQUEUE|TCPMSS --set-mss 1000|TTL --ttl-set 1|TOS --set-tos 0|DSCP --set-dscp 0|CLASSIFY --set-class 1:1|CHECKSUM --checksum-fill|ECN --ecn-tcp-remove|TCPOPTSTRIP --strip-options 8|SYNPROXY|TEE --gateway 1.2.3.4|AUDIT --type accept|IDLETIMER --timeout 1 --label x|HMARK --hmark-tuple src --hmark-mod 1|CONNSECMARK --save|SECMARK --selctx x'
match='-p tcp --tcp-flags SYN,RST SYN'
echo "# $("$ipt" -V), Linux $(uname -r)"
for t in raw mangle filter nat security; do
	case $t in
	filter | security) chains="INPUT FORWARD OUTPUT" ;;
	nat) chains="PREROUTING INPUT OUTPUT POSTROUTING" ;;
	mangle) chains="PREROUTING INPUT FORWARD OUTPUT POSTROUTING" ;;
	raw) chains="PREROUTING OUTPUT" ;;
	esac
	echo "$targets" | tr '|' '\n' | while read -r target; do
		line="$t"
		"$ipt" -t "$t" -N USR
		if "$ipt" -t "$t" -A USR $match -j $target 2>/dev/null; then user=y; else user=n; fi
		"$ipt" -t "$t" -F USR
		line="$line user=$user"
		for c in $chains; do
			if "$ipt" -t "$t" -A "$c" $match -j $target 2>/dev/null; then direct=y; else direct=n; fi
			"$ipt" -t "$t" -F "$c"
			via=-
			if [ $user = y ]; then
				"$ipt" -t "$t" -A USR $match -j $target
				if "$ipt" -t "$t" -A "$c" -j USR 2>/dev/null; then via=y; else via=n; fi
				"$ipt" -t "$t" -F "$c"
				"$ipt" -t "$t" -F USR
			fi
			line="$line $c=$direct$via"
		done
		"$ipt" -t "$t" -X USR
		echo "$line -j $target"
	done
done
