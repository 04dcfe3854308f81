#!/bin/sh
# Runs every test program (or shell script, *.sh) given on the command line
# from the repository root, prints their output, and closes with the summed
# line "N passed, N failed".
passed=0; failed=0; crashed=0
for t in "$@"; do
    echo "== $t"
    case $t in
        *.sh) out=$(sh "$t" 2>&1); rc=$? ;;
        *) out=$("$t" 2>&1); rc=$? ;;
    esac
    printf '%s\n' "$out" | sed '$d'
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "$t: no result line (exit $rc): $last"; crashed=$((crashed + 1)); f=1; p=0
    elif [ $rc -ne 0 ] && [ "$f" = 0 ]; then
        echo "$t: exit status $rc"; f=1
    fi
    echo "   $last"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
