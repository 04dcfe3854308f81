#!/bin/sh
# Runs every test program (or shell script, *.sh) given on the command line
# from the repository root, prints their output, and closes with the summed
# line "N passed, N failed". RUN_JOBS=N runs N of them at a time (for
# single-threaded builds, such as the sanitizer one); the output stays in
# the order given.
passed=0; failed=0; crashed=0
jobs=${RUN_JOBS:-1}
dir=""
if [ "$jobs" -gt 1 ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sp_run.XXXXXX") || exit 2
    trap 'rm -rf "$dir"' EXIT
    i=0
    for t in "$@"; do i=$((i + 1)); printf '%s %s\n' "$i" "$t"; done |
        xargs -P "$jobs" -L 1 sh -c 'case $3 in *.sh) sh "$3" ;; *) "$3" ;; esac > "$1/$2.out" 2>&1; echo $? > "$1/$2.rc"' \
            sh "$dir"
fi
i=0
for t in "$@"; do
    i=$((i + 1))
    echo "== $t"
    if [ -n "$dir" ]; then
        out=$(cat "$dir/$i.out" 2>/dev/null); rc=$(cat "$dir/$i.rc" 2>/dev/null || echo 1)
    else
        case $t in
            *.sh) out=$(sh "$t" 2>&1); rc=$? ;;
            *) out=$("$t" 2>&1); rc=$? ;;
        esac
    fi
    printf '%s\n' "$out" | sed '$d'
    last=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s\n' "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "$t: no result line (exit $rc): $last"; crashed=$((crashed + 1)); f=1; p=0
    elif [ "$rc" -ne 0 ] && [ "$f" = 0 ]; then
        echo "$t: exit status $rc"; f=1
    fi
    echo "   $last"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
