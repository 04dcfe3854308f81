#!/usr/bin/env python3
"""Summarises DIR/results.tsv of run_broken.sh as a Markdown table.

    tests/broken/make_table.py DIR > table.md

One row per kind of broken input (case ids with their line/spline numbers
folded together), with the number of cases, the outcome counts and one
representative message (the first case's error line).
"""
import collections
import re
import sys


def kind_class(kind):
    k = re.sub(r"spline\d+", "splineN", kind)
    k = re.sub(r"_l\d+$", "", k)
    k = re.sub(r"(line|bytes)\d+", r"\1N", k)
    return k


def main():
    d = sys.argv[1]
    desc = {}
    with open(d + "/manifest.tsv") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            desc[p[0]] = p[7]
    groups = collections.OrderedDict()
    with open(d + "/results.tsv", encoding="utf-8", errors="replace") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 8:
                p += [""] * (8 - len(p))
            cid, fam, kind, expect, bf, verdict, st, eline = p[:8]
            key = (fam, kind_class(kind))
            g = groups.setdefault(key, {"n": 0, "v": collections.Counter(), "ex": None, "expect": set(), "desc": desc.get(cid, "")})
            g["n"] += 1
            g["v"][re.sub(r"\(.*", "", verdict)] += 1
            g["expect"].add(expect)
            if g["ex"] is None or (not g["ex"][1] and eline):
                g["ex"] = (bf, eline)
    print("| # | family | input kind | example | cases | expected | outcome | message (first case) |")
    print("|---|---|---|---|---|---|---|---|")
    for i, ((fam, kc), g) in enumerate(groups.items(), 1):
        out = ", ".join("%s %d" % (k, v) for k, v in sorted(g["v"].items()))
        bf, eline = g["ex"]
        msg = eline.replace("|", "\\|") if eline else "(exit 0)"
        dsc = re.sub(r"\d+ of \d+", "N of M", g["desc"]).replace("|", "\\|")
        print("| %d | %s | `%s` | %s | %d | %s | %s | `%s` |" % (i, fam, kc, dsc, g["n"], "/".join(sorted(g["expect"])), out, msg[:160]))


if __name__ == "__main__":
    main()
