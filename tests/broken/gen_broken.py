#!/usr/bin/env python3
"""Writes broken variants of potential and extended-XYZ files for
tests/broken/run_broken.sh (Python standard library only).

    tests/broken/gen_broken.py OUTDIR [--si FILE] [--tio FILE] [--uf3 FILE]
                               [--uf3-synthetic] [--seed N] [--quick]

OUTDIR receives
    good_Si.xyz, good_TiO.xyz, good_uf3.xyz   valid configurations (counterparts)
    Si_1.meam.spline, TiO.meam.spline, ...    copies of the valid potentials
    <id>.meam.spline / <id>.uf3 / <id>.xyz    one broken file per case
    manifest.tsv                              one case per line (see below)

manifest.tsv columns (tab-separated, first line is a header):
    id  family  kind  expect  pot  xyz  broken  description
      family  Si_1 | TiO | uf3          which valid pair the case starts from
      kind    short class of the defect (the docs table groups by it)
      expect  error  the tool must fail cleanly (exit 1, one error line)
              ok     the change is harmless: exit 0 and the same energies
              any    either a clean error or exit 0 (result is compared
                     and reported; the runner flags a silent change)
      pot/xyz file names (relative to OUTDIR) of the pair to evaluate
      broken  which of the two is the broken one: pot | xyz

The UF3 .uf3 cases need a reader for LAMMPS pair_style uf3 files: pass
--uf3 FILE (a valid .uf3 file) or --uf3-synthetic (a small Si-O model with
2- and 3-body blocks written by this script). Without either, no UF3 case
is generated.
"""
import argparse
import math
import os
import random
import sys

LAMMPS = "/usr/share/lammps/potentials"


# --------------------------------------------------------------- valid files

def xyz_frame(species, pos, cell=None, pbc=None, extra=""):
    lines = [str(len(species))]
    c = []
    if cell is not None:
        c.append('Lattice="%s"' % " ".join(repr(float(v)) for row in cell for v in row))
    c.append("Properties=species:S:1:pos:R:3")
    if pbc is not None:
        c.append('pbc="%s"' % " ".join("T" if p else "F" for p in pbc))
    if extra:
        c.append(extra)
    lines.append(" ".join(c))
    for s, p in zip(species, pos):
        lines.append("%-2s %r %r %r" % (s, float(p[0]), float(p[1]), float(p[2])))
    return "\n".join(lines) + "\n"


def good_si_xyz():
    rng = random.Random(11)
    a = 5.431
    basis = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
             (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)]
    pos = [[a * b[d] + rng.gauss(0, 0.05) for d in range(3)] for b in basis]
    cell = [[a, 0, 0], [0.05, a, 0], [-0.03, 0.02, a]]
    f1 = xyz_frame(["Si"] * 8, pos, cell, [1, 1, 1], "config_type=diamond8")
    # second frame: an open 5-atom cluster, no cell
    cl = [[0, 0, 0], [2.3, 0.1, 0], [1.2, 2.0, 0.1], [-1.1, 1.9, 0.4], [0.6, 0.7, 2.1]]
    f2 = xyz_frame(["Si"] * 5, cl, None, None, "config_type=cluster5")
    return f1 + f2


def good_tio_xyz():
    rng = random.Random(12)
    a, c = 2.95, 4.68
    b = math.sqrt(3) * a
    hcp = [(0, 0, 0), (a / 2, b / 2, 0), (a / 2, b / 6, c / 2), (0, 2 * b / 3, c / 2)]
    sp, pos = [], []
    for i in range(2):
        for p in hcp:
            sp.append("Ti")
            pos.append([p[0] + i * a + rng.gauss(0, 0.04), p[1] + rng.gauss(0, 0.04), p[2] + rng.gauss(0, 0.04)])
    sp.append("O")
    pos.append([a / 2, b / 2 + b / 6 * 0 + 0.0, c / 4 + 0.6])  # between layers
    cell = [[2 * a, 0, 0], [0, b, 0], [0, 0, c]]
    f1 = xyz_frame(sp, pos, cell, [1, 1, 1], "config_type=TiO9")
    cl = [[0, 0, 0], [2.9, 0, 0], [1.45, 2.5, 0], [1.45, 0.85, 2.4], [1.45, 0.9, 0.9]]
    f2 = xyz_frame(["Ti", "Ti", "Ti", "Ti", "O"], cl, None, None, "config_type=TiO_cluster5")
    return f1 + f2


def synthetic_uf3():
    """A small Si-O UF3 model in the LAMMPS pair_style uf3 format, with 2- and 3-body blocks."""
    def uniform_knots(r0, r1, nint):
        h = (r1 - r0) / nint
        return [r0] * 3 + [r0 + k * h for k in range(nint + 1)] + [r1] * 3

    def numbers(v):
        return " ".join(repr(float(x)) for x in v)

    out = []
    hdr = "#UF3 POT UNITS: metal DATE: 2026-01-01 AUTHOR: gen_broken.py CITATION: -"
    pairs = [("O", "O", 1.2, 4.0), ("O", "Si", 1.0, 4.5), ("Si", "Si", 1.5, 5.0)]
    for a, b, r0, r1 in pairs:
        t = uniform_knots(r0, r1, 6)
        co = [3.0 * math.exp(-1.5 * k) - 0.05 for k in range(len(t) - 4)]
        co[-3:] = [0.0, 0.0, 0.0]
        out += [hdr, "2B %s %s 0 3 uk" % (a, b), "%r %d" % (r1, len(t)), numbers(t), str(len(co)), numbers(co), "#"]
    for cen in ("O", "Si"):
        for a, b in (("O", "O"), ("O", "Si"), ("Si", "Si")):
            tij = uniform_knots(1.5, 3.5, 2)
            tik = uniform_knots(1.5, 3.5, 2)
            tjk = uniform_knots(1.5, 7.0, 4)
            L, M, N = len(tij) - 4, len(tik) - 4, len(tjk) - 4
            out += [hdr, "3B %s %s %s 0 3 uk" % (cen, a, b),
                    "%r %r %r %d %d %d" % (tjk[-1], tik[-1], tij[-1], len(tjk), len(tik), len(tij)),
                    numbers(tjk), numbers(tik), numbers(tij), "%d %d %d" % (L, M, N)]
            for l in range(L):
                for m in range(M):
                    out.append(numbers([0.02 * math.cos(l + 2 * m + 3 * n) if l < L - 3 and m < M - 3 else 0.0
                                        for n in range(N)]))
            out.append("#")
    return "\n".join(out) + "\n"


def good_uf3_xyz():
    rng = random.Random(13)
    a = 5.0
    sp = ["Si", "O", "Si", "O", "Si", "Si", "O", "O"]
    pos = [[rng.uniform(0, a) for _ in range(3)] for _ in sp]
    # spread atoms apart (deterministic: lattice points plus noise)
    grid = [(0, 0, 0), (.5, .5, 0), (.5, 0, .5), (0, .5, .5), (.25, .25, .25), (.75, .75, .25), (.75, .25, .75), (.25, .75, .75)]
    pos = [[a * g[d] + rng.gauss(0, 0.05) for d in range(3)] for g in grid]
    return xyz_frame(sp, pos, [[a, 0, 0], [0, a, 0], [0, 0, a]], [1, 1, 1], "config_type=SiO8")


# ------------------------------------------------------------------- helpers

def split_lines(text):
    """Lines with their end-of-line kept, so that joining gives text back."""
    return text.splitlines(keepends=True)


def is_number(tok):
    try:
        float(tok)
        return True
    except ValueError:
        return False


def replace_token(line, k, new):
    """Replaces the k-th white-space separated token of one line (keeps the newline)."""
    body = line.rstrip("\r\n")
    eol = line[len(body):]
    toks = body.split()
    toks[k] = new
    return " ".join(t for t in toks if t != "") + eol


class Cases:
    def __init__(self, outdir):
        self.outdir = outdir
        self.rows = []
        self.ids = set()

    def add(self, family, kind, expect, desc, pot, xyz, broken, content, ext, binary=False):
        cid = "%s_%s" % (family, kind)
        n = 1
        base = cid
        while cid in self.ids:
            n += 1
            cid = "%s_%d" % (base, n)
        self.ids.add(cid)
        name = cid + ext
        mode = "wb"
        data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        with open(os.path.join(self.outdir, name), mode) as f:
            f.write(data)
        if broken == "pot":
            pot = name
        else:
            xyz = name
        self.rows.append((cid, family, kind, expect, pot, xyz, broken, desc.replace("\t", " ")))

    def write_manifest(self):
        with open(os.path.join(self.outdir, "manifest.tsv"), "w") as f:
            f.write("id\tfamily\tkind\texpect\tpot\txyz\tbroken\tdescription\n")
            for r in self.rows:
                f.write("\t".join(r) + "\n")


# ------------------------------------------------------ meam/spline variants

def meam_sections(lines, new_format):
    """(name, first line index, knot-count line index, d0 line, first knot line, n) per spline."""
    secs = []
    i = 1  # line 0 is the comment line
    if new_format:
        while i < len(lines) and not lines[i].strip().startswith("meam/spline"):
            i += 1
        i += 1
    k = 0
    while i < len(lines):
        s = lines[i].split()
        if not s or s[0].startswith("#"):
            i += 1
            continue
        start = i
        if new_format:
            i += 1  # spline3eq
        n = int(lines[i].split()[0])
        cnt = i
        d0 = i + 1
        first = d0 + (2 if not new_format else 1)
        secs.append(("spline%d" % (k + 1), start, cnt, d0, first, n))
        i = first + n
        k += 1
    return secs


def meam_cases(C, family, text, pot_name, xyz_name, ext, rng, quick):
    lines = split_lines(text)
    new_format = any(l.strip().startswith("meam/spline") for l in lines[:5])
    secs = meam_sections(lines, new_format)
    P = lambda kind, expect, desc, content: C.add(family, kind, expect, desc, pot_name, xyz_name, "pot", content, ext)

    # empty and almost empty
    P("empty", "error", "empty file (0 bytes)", "")
    P("blank", "error", "only blank lines", "\n\n  \n")
    P("comment_only", "error", "only the comment line", lines[0])
    P("nul_byte", "error", "a NUL byte in the middle", "".join(lines[:3]) + "\0" + "".join(lines[3:]))
    # truncation after every line and inside a number
    step = 7 if quick else 1
    for k in range(1, len(lines), step):
        P("trunc_line%d" % k, "error", "file cut after line %d of %d" % (k, len(lines)), "".join(lines[:k]))
    for name, start, cnt, d0, first, n in secs:
        mid = first + n // 2
        ln = lines[mid].rstrip("\n")
        cut = "".join(lines[:mid]) + ln[: max(1, len(ln) // 3)]
        P("trunc_mid_%s" % name, "error", "%s: file cut inside the numbers of knot line %d" % (name, mid + 1), cut)
        P("trunc_nonl_%s" % name, "error", "%s: file cut after knot line %d, no final newline" % (name, mid + 1),
          "".join(lines[:mid]) + ln)
    # deleted lines
    for k in range(0, len(lines), 3 if quick else 1):
        P("del_line%d" % (k + 1), "any", "line %d deleted" % (k + 1), "".join(lines[:k] + lines[k + 1:]))
    # per-section token corruption
    bad_tokens = [
        ("nan", "nan", "error"), ("NaN", "NaN", "error"), ("inf", "inf", "error"), ("-inf", "-inf", "error"),
        ("Infinity", "Infinity", "error"), ("overflow", "1e999", "error"), ("-overflow", "-1e400", "error"),
        ("garbage", "abc", "error"), ("garbage_utf8", "\u00e9\u00e8", "error"), ("empty_tok", "", "error"),
        ("hexfloat", "0x1p1", "any"), ("underflow", "1e-400", "any"), ("numprefix", "1.5xyz", "any"),
    ]
    for name, start, cnt, d0, first, n in secs:
        # knot count
        for tag, val, exp in [("count_plus1", str(n + 1), "error"), ("count_minus1", str(n - 1), "error"),
                              ("count_zero", "0", "error"), ("count_one", "1", "error"), ("count_neg", "-%d" % n, "error"),
                              ("count_65", "65", "error"), ("count_huge", "2147483648", "error"),
                              ("count_overflow", "99999999999999999999999", "error"), ("count_float", "%d.5" % n, "error"),
                              ("count_garbage", "ten", "error"), ("count_nan", "nan", "error")]:
            if quick and tag not in ("count_plus1", "count_neg", "count_nan"):
                continue
            L2 = list(lines)
            L2[cnt] = replace_token(L2[cnt], 0, val)
            P("%s_%s" % (tag, name), exp, "%s: knot count %d replaced by '%s' (line %d)" % (name, n, val, cnt + 1), "".join(L2))
        # d0, a knot x, a knot y, y''
        targets = [("d0", d0, 0), ("dN", d0, 1), ("x", first + n // 2, 0), ("y", first + n // 2, 1), ("y2", first + 1, 2)]
        for tname, li, ti in targets:
            for tag, val, exp in bad_tokens:
                if quick and tag not in ("nan", "inf", "overflow", "garbage"):
                    continue
                if tname == "y2" and tag in ("nan", "inf", "overflow", "-inf", "Infinity", "-overflow"):
                    # y'' is read and ignored by LAMMPS (recomputed), but a non-finite token is still rejected
                    exp = "error"
                if tname == "x" and tag in ("hexfloat", "numprefix"):
                    exp = "error"  # a knot moved off the uniform grid
                L2 = list(lines)
                toks = L2[li].split()
                if ti >= len(toks):
                    continue
                L2[li] = replace_token(L2[li], ti, val)
                P("%s_%s_%s" % (tag, tname, name), exp, "%s: %s token '%s' replaced by '%s' (line %d)" %
                  (name, tname, toks[ti], val if val else "(nothing)", li + 1), "".join(L2))
        # non-uniform, decreasing and repeated knots
        L2 = list(lines)
        xs = [float(lines[first + j].split()[0]) for j in range(n)]
        h = (xs[-1] - xs[0]) / (n - 1)
        j = n // 2
        L2[first + j] = replace_token(L2[first + j], 0, repr(xs[j] + 0.013 * h))
        P("nonuniform_%s" % name, "error", "%s: knot %d moved by 1.3%% of the spacing (non-uniform)" % (name, j + 1), "".join(L2))
        L2 = list(lines)
        L2[first + j], L2[first + j - 1] = L2[first + j - 1], L2[first + j]
        P("unsorted_%s" % name, "error", "%s: knots %d and %d swapped" % (name, j, j + 1), "".join(L2))
        L2 = list(lines)
        L2[first + j] = replace_token(L2[first + j], 0, lines[first + j - 1].split()[0])
        P("dupknot_%s" % name, "error", "%s: knot %d repeats knot %d" % (name, j + 1, j), "".join(L2))
        L2 = list(lines)
        L2[first + j] = L2[first + j].rstrip("\r\n") + " 7.0\n"
        P("extra_col_%s" % name, "any", "%s: a fourth number on knot line %d" % (name, first + j + 1), "".join(L2))
        L2 = list(lines)
        L2[first + j] = " ".join(L2[first + j].split()[:2]) + "\n"
        P("missing_col_%s" % name, "error", "%s: knot line %d has 2 numbers" % (name, first + j + 1), "".join(L2))
        L2 = list(lines)
        L2[d0] = L2[d0].split()[0] + "\n"
        P("missing_dN_%s" % name, "error", "%s: 'd0 dN' line %d has only d0" % (name, d0 + 1), "".join(L2))
        if quick:
            break
    # huge (but finite) knot values: cutoff 1e6 or spline values near DBL_MAX
    name, start, cnt, d0, first, n = secs[0]
    L2 = list(lines)
    last = first + n - 1
    xs0, xl = float(lines[first].split()[0]), float(lines[last].split()[0])
    for j in range(n):
        L2[first + j] = replace_token(L2[first + j], 0, repr(xs0 + (1e6 - xs0) * j / (n - 1)))
    P("huge_cutoff", "any", "phi knots stretched uniformly to 1e6 A: cutoff 1e6 (ghost atoms explode?)", "".join(L2))
    L2 = list(lines)
    L2[first + 1] = replace_token(L2[first + 1], 1, "1e308")
    P("huge_value", "any", "phi knot value 1e308 (finite, overflows in sums)", "".join(L2))
    L2 = list(lines)
    L2[d0] = replace_token(L2[d0], 0, "-1.7e308")
    P("huge_slope", "any", "phi d0 = -1.7e308 (extrapolation below the first knot overflows)", "".join(L2))
    L2 = list(lines)
    for j in range(n):
        L2[first + j] = replace_token(L2[first + j], 0, repr(1.0 + 1e-14 * j))
    P("tiny_spacing", "any", "phi knots 1e-14 A apart", "".join(L2))
    # rho (old format: spline 2; new format: the first rho spline) with values
    # +-1.7e308: rho(r) overflows to inf - inf = NaN, which then reaches U(NaN)
    ri = 1  # old format: phi rho U f g
    if new_format:
        ne = 1
        while 2 * (ne * (ne + 1) // 2) + 3 * ne != len(secs):
            ne += 1
        ri = ne * (ne + 1) // 2  # first rho spline
    name, start, cnt, d0, first, n = secs[ri]
    L2 = list(lines)
    for j in range(n):
        L2[first + j] = replace_token(L2[first + j], 1, "1.7e308" if j % 2 == 0 else "-1.7e308")
    P("huge_alternating_rho", "any", "rho knot values alternate +-1.7e308 (finite): rho(r) = NaN inside the knot range",
      "".join(L2))
    # g (last spline) with knots 1e-320 apart around cos = 0: 1/h = inf; the
    # right-angle trimer of right_angle.xyz has cos(theta) = 0 exactly
    name, start, cnt, d0, first, n = secs[-1]
    L2 = list(lines)
    for j in range(n):
        L2[first + j] = replace_token(L2[first + j], 0, repr((j - (n - 1) / 2) * 1e-320))
    C.add(family, "denormal_spacing_g", "any", "g knots 1e-320 apart around 0 (1/h overflows), evaluated at cos = 0",
          pot_name, "right_angle_%s.xyz" % family, "pot", "".join(L2), ext)
    # structure: missing / extra / duplicated splines
    s_last = secs[-1]
    P("missing_last_spline", "error", "the last spline removed", "".join(lines[: s_last[1]]))
    extra = "".join(lines[secs[0][1]: secs[1][1]])
    P("extra_spline", "error", "one spline too many (the first repeated at the end)", text + extra)
    P("trailing_garbage", "error", "a line of text after the last spline", text + "this is not a number\n")
    P("trailing_number", "error", "a stray number after the last spline", text + "42\n")
    # harmless formatting changes
    P("crlf", "ok", "CRLF line ends", text.replace("\n", "\r\n"))
    P("tabs", "ok", "tabs instead of spaces", "".join(l.replace(" ", "\t") for l in lines))
    P("blank_lines", "ok" if not new_format else "ok", "blank line after every knot line",
      "".join(l + ("\n" if i > 0 and len(l.split()) == 3 else "") for i, l in enumerate(lines)))
    P("no_final_newline", "ok", "no newline at the end", text.rstrip("\n"))
    P("bom", "any", "UTF-8 byte-order mark at the start (inside the comment line)", "\ufeff" + text)
    # noise
    for j in range(2 if quick else 6):
        L2 = list(lines)
        k = rng.randrange(1, len(L2))
        noise = "".join(chr(rng.choice(list(range(33, 127)) + [0xe9, 0x2603])) for _ in range(rng.randrange(3, 40)))
        L2.insert(k, noise + "\n")
        P("noise_line%d" % (k + 1), "error", "random printable noise line inserted before line %d" % (k + 1), "".join(L2))
    for j in range(2 if quick else 6):
        data = bytearray(text.encode())
        k = rng.randrange(len(lines[0]) + 1, len(data))
        data[k:k] = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 16)))
        P("garbage_bytes%d" % j, "any", "%d random bytes inserted at byte %d" % (len(data) - len(text.encode()), k), bytes(data))
    data = bytes(rng.randrange(0, 256) for _ in range(2000))
    P("binary", "error", "2000 random bytes", data)
    if new_format:
        hl = next(i for i, l in enumerate(lines) if l.strip().startswith("meam/spline"))
        hdr = lines[hl].split()
        for tag, newhdr, exp, desc in [
            ("elem_count_plus1", ["meam/spline", str(int(hdr[1]) + 1)] + hdr[2:] + ["Al"], "error", "3 elements announced and named, splines for 2"),
            ("elem_count_mismatch", ["meam/spline", str(int(hdr[1]) + 1)] + hdr[2:], "error", "element count 3, 2 names"),
            ("elem_count_zero", ["meam/spline", "0"], "error", "element count 0"),
            ("elem_count_neg", ["meam/spline", "-2"] + hdr[2:], "error", "element count -2"),
            ("elem_count_huge", ["meam/spline", "99999999999"] + hdr[2:], "error", "element count 99999999999"),
            ("elem_count_nan", ["meam/spline", "nan"] + hdr[2:], "error", "element count 'nan'"),
            ("elem_unknown", ["meam/spline", hdr[1], hdr[2], "Xx"], "error", "unknown element Xx"),
            ("elem_long", ["meam/spline", hdr[1], hdr[2], "Oxygen"], "error", "element name 'Oxygen'"),
            ("elem_duplicate", ["meam/spline", hdr[1], hdr[2], hdr[2]], "error", "element listed twice"),
            ("elem_swapped", ["meam/spline", hdr[1], hdr[3], hdr[2]], "any", "element order swapped (O Ti): parses, different physics"),
            ("elem_lowercase", ["meam/spline", hdr[1], hdr[2].lower(), hdr[3].lower()], "any", "element names in lower case"),
            ("elem_count_1", ["meam/spline", "1", hdr[2]], "error", "one element announced, splines for two"),
        ]:
            L2 = list(lines)
            L2[hl] = " ".join(newhdr) + "\n"
            P(tag, exp, desc, "".join(L2))
        L2 = list(lines)
        L2[secs[0][1]] = "spline3eqx\n"
        P("bad_spline3eq", "error", "'spline3eq' misspelled before the first spline", "".join(L2))
        L2 = list(lines)
        del L2[secs[1][1]]
        P("missing_spline3eq", "error", "'spline3eq' line of the second spline deleted", "".join(L2))
    else:
        L2 = list(lines)
        L2[secs[0][3] + 1] = "garbage flag line\n"
        P("flag_line_garbage", "any", "the ignored '1 0 1 0' line replaced by text (LAMMPS skips it)", "".join(L2))
        L2 = list(lines)
        del L2[secs[0][3] + 1]
        P("flag_line_missing", "error", "the '1 0 1 0' line of the first spline deleted", "".join(L2))
        # 6 splines (one too many for meam/spline, one too few for meam/sw/spline)
        P("six_splines", "error", "6 splines", text + extra)
        # a 7-spline file under a .meam.spline name
        P("seven_splines", "error", "7 splines under a .meam.spline name", text + extra + extra)


def uf3_cases(C, text, pot_name, xyz_name, rng, quick):
    lines = split_lines(text)
    P = lambda kind, expect, desc, content: C.add("uf3", kind, expect, desc, pot_name, xyz_name, "pot", content, ".uf3")
    P("empty", "error", "empty file", "")
    P("header_only", "error", "only '#UF3 POT'", "#UF3 POT UNITS: metal\n")
    for k in range(1, len(lines), 5 if quick else 1):
        if lines[k - 1].strip() == "#":  # cut between blocks: may still be a complete (smaller) model
            P("trunc_line%d" % k, "any", "file cut after line %d of %d (between blocks)" % (k, len(lines)), "".join(lines[:k]))
        else:
            P("trunc_line%d" % k, "error", "file cut after line %d of %d" % (k, len(lines)), "".join(lines[:k]))
    for k in range(0, len(lines), 5 if quick else 1):
        P("del_line%d" % (k + 1), "any", "line %d deleted" % (k + 1), "".join(lines[:k] + lines[k + 1:]))
    blocks = [i for i, l in enumerate(lines) if l.startswith("2B") or l.startswith("3B")]
    for bi in blocks[: 2 if quick else len(blocks)]:
        hdr = lines[bi].split()
        cnt = bi + 1
        for tag, val in [("nan", "nan"), ("inf", "inf"), ("overflow", "1e999"), ("garbage", "abc"), ("neg", "-8"), ("huge", "1e9"), ("float", "8.5"), ("zero", "0")]:
            L2 = list(lines)
            ct = L2[cnt].split()
            L2[cnt] = replace_token(L2[cnt], len(ct) - 1, val)
            P("count_%s_%s_l%d" % (tag, hdr[0], bi + 1), "error", "%s block line %d: knot count replaced by '%s'" % (hdr[0], cnt + 2, val), "".join(L2))
        for tag, val in [("nan", "nan"), ("inf", "-inf"), ("overflow", "1e999"), ("garbage", "x1"), ("empty_tok", "")]:
            L2 = list(lines)
            L2[bi + 2] = replace_token(L2[bi + 2], 4, val)
            P("%s_knot_%s_l%d" % (tag, hdr[0], bi + 1), "error", "%s block: a knot replaced by '%s' (line %d)" % (hdr[0], val, bi + 3), "".join(L2))
        L2 = list(lines)
        t = L2[bi + 2].split()
        t[4] = repr(float(t[4]) + 0.01)
        L2[bi + 2] = " ".join(t) + "\n"
        P("nonuniform_%s_l%d" % (hdr[0], bi + 1), "error", "%s block marked 'uk' but one knot moved: non-uniform" % hdr[0], "".join(L2))
        L2 = list(lines)
        t = L2[bi + 2].split()
        t[4], t[5] = t[5], t[4]
        L2[bi + 2] = " ".join(t) + "\n"
        P("unsorted_%s_l%d" % (hdr[0], bi + 1), "error", "%s block: two knots swapped (decreasing)" % hdr[0], "".join(L2))
        for tag, newhdr, exp in [("unknown_elem", [hdr[0], "Xx"] + hdr[2:], "error"), ("trim", hdr[:-3] + ["1", "3", hdr[-1]], "error"),
                                 ("spacing", hdr[:-1] + ["zz"], "error"), ("words", hdr[:-1], "error"),
                                 ("nk", hdr[:-1] + ["nk"], "any")]:
            L2 = list(lines)
            L2[bi] = " ".join(newhdr) + "\n"
            P("%s_%s_l%d" % (tag, hdr[0], bi + 1), exp, "%s block header '%s'" % (hdr[0], " ".join(newhdr)), "".join(L2))
        if hdr[0] == "3B":
            L2 = list(lines)
            L2[bi] = " ".join([hdr[0], hdr[1], hdr[3], hdr[2]] + hdr[4:]) + "\n"
            P("elem_order_3B_l%d" % (bi + 1), "any", "3B block neighbour elements swapped (%s %s)" % (hdr[3], hdr[2]), "".join(L2))
    # a missing 2B block
    b0 = blocks[0] - 1
    end = next(i for i in range(blocks[0], len(lines)) if lines[i].strip() == "#")
    P("missing_2B", "error", "the first 2B block removed", "".join(lines[:b0] + lines[end + 1:]))
    P("duplicate_2B", "error", "the first 2B block repeated", text + "".join(lines[b0:end + 1]))
    P("nul_byte", "error", "a NUL byte", text[:50] + "\0" + text[50:])
    P("crlf", "ok", "CRLF line ends", text.replace("\n", "\r\n"))
    for j in range(2 if quick else 5):
        L2 = list(lines)
        k = rng.randrange(1, len(L2))
        L2.insert(k, "".join(chr(rng.randrange(33, 127)) for _ in range(rng.randrange(3, 30))) + "\n")
        P("noise_line%d" % (k + 1), "any", "random noise line inserted before line %d" % (k + 1), "".join(L2))


# --------------------------------------------------------------- xyz variants

def xyz_cases(C, family, text, pot_name, xyz_name, rng, quick):
    lines = split_lines(text)
    X = lambda kind, expect, desc, content: C.add(family, kind, expect, desc, pot_name, xyz_name, "xyz", content, ".xyz")
    n1 = int(lines[0])
    atom0 = 2  # first atom line of frame 1
    f2 = 2 + n1  # natoms line of frame 2
    X("xyz_empty", "error", "empty file", "")
    X("xyz_blank", "error", "only blank lines", "\n\n\n")
    for k in range(1, len(lines), 4 if quick else 1):
        if k == f2:
            X("xyz_trunc_line%d" % k, "any", "file cut after line %d of %d (after a whole frame: one frame fewer)" % (k, len(lines)), "".join(lines[:k]))
        else:
            X("xyz_trunc_line%d" % k, "error", "file cut after line %d of %d" % (k, len(lines)), "".join(lines[:k]))
    X("xyz_trunc_midtoken", "error", "cut inside a coordinate of atom 3", "".join(lines[:atom0 + 2]) + lines[atom0 + 2][:8])
    for k in range(0, len(lines), 4 if quick else 1):
        X("xyz_del_line%d" % (k + 1), "error", "line %d deleted" % (k + 1), "".join(lines[:k] + lines[k + 1:]))
    for tag, val in [("plus1", str(n1 + 1)), ("minus1", str(n1 - 1)), ("zero", "0"), ("neg", "-3"), ("huge", "100000000"),
                     ("toohuge", "99999999999"), ("overflow", "99999999999999999999999"), ("float", "8.0"), ("garbage", "eight"),
                     ("nan", "nan"), ("two_numbers", "%d 1" % n1), ("hex", "0x8")]:
        X("xyz_natoms_%s" % tag, "error", "atom count %d replaced by '%s'" % (n1, val), val + "\n" + "".join(lines[1:]))
    c = lines[1]

    def comment(new):
        return "".join([lines[0], new if new.endswith("\n") else new + "\n"] + lines[2:])
    import re
    lat = re.search(r'Lattice="([^"]*)"', c)
    vals = lat.group(1).split()
    def with_lattice(v):
        return c[: lat.start()] + 'Lattice="%s"' % " ".join(v) + c[lat.end():]
    X("xyz_cell_zero", "error", "Lattice all zeros, pbc T T T (zero-volume cell)", comment(with_lattice(["0"] * 9)))
    X("xyz_cell_coplanar", "error", "third cell vector = first + second (zero volume)",
      comment(with_lattice(vals[:6] + [repr(float(vals[0]) + float(vals[3])), repr(float(vals[1]) + float(vals[4])), repr(float(vals[2]) + float(vals[5]))])))
    X("xyz_cell_zero_row", "error", "third cell vector zero, periodic", comment(with_lattice(vals[:6] + ["0", "0", "0"])))
    X("xyz_cell_tiny", "error", "cell 1e-3 A wide (atoms overlap through images)", comment(with_lattice(["1e-3", "0", "0", "0", "1e-3", "0", "0", "0", "1e-3"])))
    X("xyz_cell_negative", "any", "left-handed cell (third vector negated)", comment(with_lattice(vals[:6] + ["%r" % -float(v) for v in vals[6:]])))
    for tag, tok in [("nan", "nan"), ("inf", "inf"), ("overflow", "1e999"), ("garbage", "abc")]:
        X("xyz_cell_%s" % tag, "error", "Lattice number replaced by '%s'" % tok, comment(with_lattice(vals[:4] + [tok] + vals[5:])))
    X("xyz_cell_8", "error", "Lattice with 8 numbers", comment(with_lattice(vals[:8])))
    X("xyz_cell_10", "error", "Lattice with 10 numbers", comment(with_lattice(vals + ["1"])))
    X("xyz_cell_unquoted", "error", "Lattice= value not quoted (first number only)", comment(c[: lat.start()] + "Lattice=%s" % " ".join(vals) + c[lat.end():]))
    X("xyz_cell_unterminated", "any", "Lattice=\" quote never closed", comment(c[: lat.start()] + 'Lattice="%s' % " ".join(vals)))
    X("xyz_cell_huge", "any", "cell vectors 1e300 A", comment(with_lattice(["1e300", "0", "0", "0", "1e300", "0", "0", "0", "1e300"])))
    X("xyz_pbc_bad", "error", "pbc=\"T X T\"", comment(c.replace('pbc="T T T"', 'pbc="T X T"')))
    X("xyz_pbc_two", "error", "pbc with 2 flags", comment(c.replace('pbc="T T T"', 'pbc="T T"')))
    X("xyz_no_lattice_pbc", "error", "pbc=\"T T T\" without a Lattice", comment(c[: lat.start()] + c[lat.end():]))
    X("xyz_props_no_pos", "error", "Properties without pos", comment(c.replace("species:S:1:pos:R:3", "species:S:1:xyz:R:3")))
    X("xyz_props_no_species", "error", "Properties without species", comment(c.replace("species:S:1:pos:R:3", "name:S:1:pos:R:3")))
    X("xyz_props_bad_type", "error", "Properties type letter Q", comment(c.replace("pos:R:3", "pos:Q:3")))
    X("xyz_props_zero", "error", "Properties column count 0", comment(c.replace("pos:R:3", "pos:R:0")))
    X("xyz_props_neg", "error", "Properties column count -3", comment(c.replace("pos:R:3", "pos:R:-3")))
    X("xyz_props_huge", "error", "Properties column count 99999999999", comment(c.replace("pos:R:3", "pos:R:99999999999")))
    X("xyz_props_incomplete", "error", "Properties=species:S:1:pos:R", comment(c.replace("species:S:1:pos:R:3", "species:S:1:pos:R")))
    X("xyz_props_extra_col", "error", "Properties announces a column the atom lines lack", comment(c.replace("species:S:1:pos:R:3", "species:S:1:pos:R:3:charge:R:1")))
    X("xyz_energy_nan", "error", "energy=nan in the comment", comment(c.rstrip("\n") + " energy=nan"))
    X("xyz_energy_garbage", "error", "energy=abc", comment(c.rstrip("\n") + " energy=abc"))
    X("xyz_stress_5", "error", "stress with 5 numbers", comment(c.rstrip("\n") + ' stress="1 2 3 4 5"'))
    X("xyz_stress_inf", "error", "stress with inf", comment(c.rstrip("\n") + ' stress="1 2 3 4 5 inf"'))
    X("xyz_comment_empty_keys", "any", "comment with empty keys and quotes: =\"\"=\"\"%", comment(c.rstrip("\n") + ' =""=""%'))
    X("xyz_comment_only_flag", "any", "comment line is one flag key at the very end of the file (no newline)",
      "1\nflag")
    al = lines[atom0].split()      # atom 1
    a2 = lines[atom0 + 1].split()  # atom 2
    def atom(k, new):
        L2 = list(lines)
        L2[atom0 + k] = new + "\n"
        return "".join(L2)
    X("xyz_species_unknown", "error", "species Xx", atom(1, " ".join(["Xx"] + a2[1:])))
    X("xyz_species_notinpot", "error" if family != "Si_1" else "any",
      "species Al (a real element the potential lacks)", atom(1, " ".join(["Al"] + a2[1:])))
    X("xyz_species_number", "error", "species '14' in a species:S column", atom(1, " ".join(["14"] + a2[1:])))
    X("xyz_species_long", "error", "species 'Silicon'", atom(1, " ".join(["Silicon"] + a2[1:])))
    for tag, tok in [("nan", "nan"), ("NaN", "NaN"), ("inf", "inf"), ("minf", "-inf"), ("overflow", "1e999"), ("garbage", "abc"),
                     ("numprefix", "1.5x"), ("empty", "")]:
        X("xyz_pos_%s" % tag, "error", "x of atom 2 replaced by '%s'" % (tok or "(nothing)"), atom(1, " ".join(t for t in [a2[0], tok] + a2[2:] if t)))
    X("xyz_pos_extra_col", "error", "atom 2 line has an extra number", atom(1, lines[atom0 + 1].rstrip("\n") + " 1.0"))
    X("xyz_pos_missing_col", "error", "atom 2 line lacks z", atom(1, " ".join(lines[atom0 + 1].split()[:3])))
    a1 = lines[atom0 + 1].split()
    X("xyz_coincident", "error", "atom 2 placed on atom 1", atom(1, " ".join([a1[0]] + al[1:4])))
    X("xyz_coincident_1e-9", "error", "atom 2 1e-9 A from atom 1", atom(1, " ".join([a1[0], repr(float(al[1]) + 1e-9)] + al[2:4])))
    X("xyz_close_0.1", "any", "atom 2 0.1 A from atom 1 (deep in the extrapolated core)", atom(1, " ".join([a1[0], repr(float(al[1]) + 0.1)] + al[2:4])))
    # image of the same atom: coincident through the periodic cell
    v0 = [float(x) for x in vals[:3]]
    X("xyz_coincident_image", "error", "atom 2 placed on the periodic image of atom 1 (atom 1 + a)",
      atom(1, " ".join([a1[0]] + [repr(float(al[1 + d]) + v0[d]) for d in range(3)])))
    # far outside the cell: a lattice translation (harmless) and absurd distances
    xs = [float(x) for x in a1[1:4]]
    X("xyz_far_lattice", "ok", "atom 2 moved by 1000 a (same periodic structure)",
      atom(1, " ".join([a1[0]] + [repr(xs[d] + 1000 * v0[d]) for d in range(3)])))
    X("xyz_far_1e12", "any", "atom 2 at x = 1e12 A in a periodic cell", atom(1, " ".join([a1[0], "1e12"] + a1[2:4])))
    X("xyz_far_1e300", "any", "atom 2 at x = 1e300 A in a periodic cell", atom(1, " ".join([a1[0], "1e300"] + a1[2:4])))
    # second frame (open cluster): far away atom is harmless (isolated)
    b1 = lines[f2 + 3].split()
    L2 = list(lines)
    L2[f2 + 3] = " ".join([b1[0], "1e6"] + b1[2:]) + "\n"
    X("xyz_open_far", "any", "frame 2 (no cell): atom 2 at x = 1e6 A", "".join(L2))
    L2 = list(lines)
    L2[f2 + 3] = " ".join(lines[f2 + 2].split()) + "\n"
    X("xyz_open_coincident", "error", "frame 2 (no cell): atom 2 on atom 1", "".join(L2))
    # second frame broken, first fine: no output at all
    L2 = list(lines)
    L2[f2 + 2] = "Si nan 0 0\n"
    X("xyz_frame2_nan", "error", "frame 2 has a NaN coordinate (frame 1 fine: no partial output)", "".join(L2))
    X("xyz_nul_byte", "error", "a NUL byte in an atom line", atom(2, lines[atom0 + 2].rstrip("\n")[:5] + "\0" + lines[atom0 + 2].rstrip("\n")[5:]))
    X("xyz_crlf", "ok", "CRLF line ends", text.replace("\n", "\r\n"))
    X("xyz_tabs", "ok", "tabs between the atom columns", "".join(lines[:2]) + "".join(l.replace(" ", "\t") for l in lines[2:f2]) + "".join(lines[f2:]))
    X("xyz_no_final_newline", "ok", "no newline at the end", text.rstrip("\n"))
    X("xyz_trailing_blank", "ok", "blank lines after the last frame", text + "\n\n")
    X("xyz_trailing_garbage", "error", "a line of text after the last frame", text + "garbage\n")
    X("xyz_bom", "error", "UTF-8 byte-order mark before the atom count", "\ufeff" + text)
    for j in range(2 if quick else 6):
        L2 = list(lines)
        k = rng.randrange(0, len(L2))
        L2.insert(k, "".join(chr(rng.randrange(33, 127)) for _ in range(rng.randrange(3, 30))) + "\n")
        X("xyz_noise_line%d" % (k + 1), "error", "random noise line inserted before line %d" % (k + 1), "".join(L2))
    for j in range(2 if quick else 6):
        data = bytearray(text.encode())
        k = rng.randrange(len(data))
        data[k:k] = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 12)))
        X("xyz_garbage_bytes%d" % j, "any", "random bytes inserted at byte %d" % k, bytes(data))
    X("xyz_binary", "error", "2000 random bytes", bytes(rng.randrange(0, 256) for _ in range(2000)))


# ---------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--si", default=os.path.join(LAMMPS, "Si_1.meam.spline"))
    ap.add_argument("--tio", default=os.path.join(LAMMPS, "TiO.meam.spline"))
    ap.add_argument("--uf3", default=None, help="a valid LAMMPS .uf3 file: also generate UF3 cases")
    ap.add_argument("--uf3-synthetic", action="store_true", help="generate UF3 cases from a built-in Si-O model")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--quick", action="store_true", help="a subset (every few lines, fewer tokens)")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    rng = random.Random(args.seed)
    C = Cases(args.outdir)

    def put(name, text):
        with open(os.path.join(args.outdir, name), "w") as f:
            f.write(text)

    si = open(args.si).read()
    tio = open(args.tio).read()
    put("Si_1.meam.spline", si)
    put("TiO.meam.spline", tio)
    put("good_Si.xyz", good_si_xyz())
    put("right_angle_Si_1.xyz", "3\nProperties=species:S:1:pos:R:3\nSi 0 0 0\nSi 2.5 0 0\nSi 0 2.5 0\n")
    put("right_angle_TiO.xyz", "3\nProperties=species:S:1:pos:R:3\nTi 0 0 0\nTi 2.5 0 0\nTi 0 2.5 0\n")
    put("good_TiO.xyz", good_tio_xyz())
    C.rows.append(("Si_1_good", "Si_1", "good", "ok", "Si_1.meam.spline", "good_Si.xyz", "-", "valid pair"))
    C.rows.append(("TiO_good", "TiO", "good", "ok", "TiO.meam.spline", "good_TiO.xyz", "-", "valid pair"))
    meam_cases(C, "Si_1", si, "Si_1.meam.spline", "good_Si.xyz", ".meam.spline", rng, args.quick)
    meam_cases(C, "TiO", tio, "TiO.meam.spline", "good_TiO.xyz", ".meam.spline", rng, args.quick)
    xyz_cases(C, "Si_1", good_si_xyz(), "Si_1.meam.spline", "good_Si.xyz", rng, args.quick)
    xyz_cases(C, "TiO", good_tio_xyz(), "TiO.meam.spline", "good_TiO.xyz", rng, args.quick)
    if args.uf3 or args.uf3_synthetic:
        u = open(args.uf3).read() if args.uf3 else synthetic_uf3()
        put("good.uf3", u)
        put("good_uf3.xyz", good_uf3_xyz())
        C.rows.append(("uf3_good", "uf3", "good", "ok", "good.uf3", "good_uf3.xyz", "-", "valid pair"))
        uf3_cases(C, u, "good.uf3", "good_uf3.xyz", rng, args.quick)
        xyz_cases_uf3 = good_uf3_xyz()
        # a few xyz cases against the UF3 model (the same xyz reader; runtime paths differ)
        lines = split_lines(xyz_cases_uf3)
        X = lambda kind, expect, desc, content: C.add("uf3", kind, expect, desc, "good.uf3", "good_uf3.xyz", "xyz", content, ".xyz")
        X("xyz_coincident", "error", "atom 2 on atom 1", "".join(lines[:3] + [lines[2]] + lines[4:]))
        X("xyz_species_notinpot", "error", "species Al, not in the model", "".join(lines[:3] + ["Al" + lines[3][2:]] + lines[4:]))
        X("xyz_cell_zero", "error", "zero cell", lines[0] + 'Lattice="0 0 0 0 0 0 0 0 0" Properties=species:S:1:pos:R:3 pbc="T T T"\n' + "".join(lines[2:]))
    C.write_manifest()
    print("%d cases in %s" % (len(C.rows), os.path.join(args.outdir, "manifest.tsv")))


if __name__ == "__main__":
    main()
