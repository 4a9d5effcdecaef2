#!/usr/bin/env bash
# Part of the labctl GitHub Action (action.yml): runs labctl test, as root, on every
# lab file the patterns match; labctl writes the JUnit report and the step summary.
#   LABCTL_LABS      glob patterns, separated by blanks or newlines (** spans folders)
#   LABCTL_JUNIT     where to write the JUnit XML report
#   LABCTL_IPTABLES  nft or legacy (empty: each lab's own setting)
#   LABCTL_ARGS      more arguments for labctl test, split into words as a shell would
#                    (--run 'a b' is two arguments, the second with a blank)
set -euo pipefail
shopt -s globstar

read -ra patterns <<< "$(tr '\n' ' ' <<< "${LABCTL_LABS:?the labs input is empty}")"
files=()
for pattern in "${patterns[@]}"; do
  mapfile -t matched < <(compgen -G "$pattern" || true)
  if [ "${#matched[@]}" -eq 0 ]; then
    echo "::error::labs: no file matches $pattern (relative to $PWD)"
    exit 2
  fi
  files+=("${matched[@]}")
done

args=(test --junit "${LABCTL_JUNIT:?}")
[ -n "${LABCTL_IPTABLES:-}" ] && args+=(--iptables "$LABCTL_IPTABLES")
# Words and quotes as a shell splits them, without eval (nothing in the input runs):
# xargs parses the quoting and printf ends each word with a NUL, which no argument can
# hold. A file, not $(...), because command substitution drops NULs.
extra=()
if [ -n "${LABCTL_ARGS:-}" ]; then
  words=$(mktemp)
  if ! xargs -r -n1 printf '%s\0' <<< "$LABCTL_ARGS" > "$words"; then
    echo "::error::args: cannot split $LABCTL_ARGS into words (an unmatched quote?)"
    rm -f "$words"
    exit 2
  fi
  mapfile -d '' extra < "$words"
  rm -f "$words"
fi
args+=("${extra[@]}" "${files[@]}")

labctl=$(command -v labctl)
status=0
if [ "$(id -u)" -eq 0 ]; then
  "$labctl" "${args[@]}" || status=$?
else
  # -E keeps GITHUB_STEP_SUMMARY, which labctl appends its Markdown summary to.
  sudo -E "$labctl" "${args[@]}" || status=$?
  # The report belongs to the job's user, so later steps can move or delete it.
  [ -e "$LABCTL_JUNIT" ] && sudo chown "$(id -u):$(id -g)" "$LABCTL_JUNIT"
fi
echo "junit=$LABCTL_JUNIT" >> "${GITHUB_OUTPUT:?}"
exit "$status"
