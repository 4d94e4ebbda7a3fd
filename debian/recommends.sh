#!/bin/sh
# Print the Recommends of the ocfrs package: for every agent type the multicall binary $1
# provides (`--list`), the packages debian/agent-packages names for it, deduplicated, joined
# with ", ".
set -eu
bin=$1
map=$(dirname "$0")/agent-packages
"$bin" --list | while read -r type; do
  grep -v '^#' "$map" | awk -v t="$type" '$1 == t { $1 = ""; sub(/^ +/, ""); print }'
done | tr ',' '\n' | sed 's/^ *//; s/ *$//' | awk 'NF && !seen[$0]++' | paste -sd, - | sed 's/,/, /g'
