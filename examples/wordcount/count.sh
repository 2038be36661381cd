#!/bin/bash
# The wordcount activity: counts the lines, words and bytes of the dropped file.
# rp mounts the file read-only at $RP_INPUT and the owner's output folder at $RP_OUTPUT.
set -euo pipefail
echo "counting $(basename "$RP_INPUT")"
wc "$RP_INPUT" | awk '{ print "lines " $1 "\nwords " $2 "\nbytes " $3 }' > "$RP_OUTPUT/count.txt"
cat "$RP_OUTPUT/count.txt"
