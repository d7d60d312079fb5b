#!/usr/bin/env python3
"""Score mlguard inspect, picklescan and modelscan outputs on the same files (used by
benches/inspect_bench.sh).

    python3 benches/inspect_score.py CORPUS_DIR BENIGN_DIR RESULTS_DIR

RESULTS_DIR holds, for each of corpus/benign: mlguard-<set>.json (mlguard inspect --format
json), picklescan-<set>.txt (picklescan -p stdout+stderr), modelscan-<set>.json (modelscan
-r json). Ground truth for picklescan's corpus is the rule of tests/inspect.rs: malicious =
malicious*, broken_model.pkl, pytorch_magic_bypass.pt, sys_module_override_sploit.pkl; every
other corpus file and every generated file is benign. A file is *flagged* by a tool when it
reports something at high/critical (mlguard high|critical, modelscan HIGH|CRITICAL,
picklescan "dangerous import ... FOUND"); *any* counts lower levels too (mlguard medium/low,
modelscan MEDIUM/LOW, picklescan prints only dangerous globals per file).
"""

import json
import os
import re
import sys


def malicious(name):
    return (
        name.startswith("malicious")
        or name in ("broken_model.pkl", "pytorch_magic_bypass.pt", "sys_module_override_sploit.pkl")
    )


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        for n in names:
            out.append(os.path.relpath(os.path.join(root, n), d))
    return sorted(out)


def mlguard(path, base):
    flagged, anyf, incomplete = set(), set(), set()
    d = json.load(open(path))
    for f in d.get("findings", []):
        rel = os.path.relpath(f["location"]["file"], base)
        anyf.add(rel)
        if f["severity"] in ("high", "critical"):
            flagged.add(rel)
    for s in d.get("skipped", []):
        if s.get("file"):
            incomplete.add(os.path.relpath(s["file"], base))
    return flagged, anyf, incomplete


def picklescan(path, base):
    flagged, errors = set(), set()
    absb = os.path.abspath(base)
    sevenz = [f for f in files_under(base) if f.endswith(".7z")]
    for line in open(path, errors="replace"):
        m = re.match(r"^(.*?): dangerous import .* FOUND$", line.strip())
        if m:
            p = m.group(1)
            # "file:member" inside archives
            while not os.path.exists(p) and ":" in p:
                p = p.rsplit(":", 1)[0]
            rel = os.path.relpath(p, absb)
            if rel.startswith("..") and len(sevenz) == 1:
                # picklescan reports 7z members under the temporary directory it unpacked
                # them to: credit the one 7z archive of the set.
                rel = sevenz[0]
            flagged.add(rel)
        m = re.match(r"^ERROR: parsing pickle in (.*?): ", line.strip())
        if m:
            errors.add(os.path.relpath(m.group(1), absb))
    crashed = "Traceback (most recent call last)" in open(path, errors="replace").read()
    return flagged, set(flagged), errors, crashed


def modelscan(path, base):
    flagged, anyf, errors = set(), set(), set()
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        return flagged, anyf, errors
    for i in d.get("issues", []):
        src = i["source"].split(":")[0]
        anyf.add(src)
        if i["severity"] in ("HIGH", "CRITICAL"):
            flagged.add(src)
    for e in d.get("errors", []):
        if e.get("source"):
            errors.add(e["source"].split(":")[0])
    return flagged, anyf, errors


def main():
    corpus, benign, res = sys.argv[1], sys.argv[2], sys.argv[3]
    sets = {"corpus": corpus, "benign": benign}
    truth = {}
    for s, d in sets.items():
        for f in files_under(d):
            truth[(s, f)] = s == "corpus" and malicious(os.path.basename(f))
    n_mal = sum(truth.values())
    n_ben = len(truth) - n_mal
    print(f"files: {len(truth)} ({n_mal} malicious from picklescan's corpus, {n_ben} benign: "
          f"{sum(1 for (s, _), m in truth.items() if s == 'corpus' and not m)} corpus + "
          f"{sum(1 for (s, _) in truth if s == 'benign')} generated)")
    rows = []
    for tool in ("mlguard", "picklescan", "modelscan"):
        flagged, anyf, problems, crashed = set(), set(), set(), False
        for s, d in sets.items():
            if tool == "mlguard":
                fl, an, pr = mlguard(os.path.join(res, f"mlguard-{s}.json"), d)
            elif tool == "picklescan":
                fl, an, pr, cr = picklescan(os.path.join(res, f"picklescan-{s}.txt"), d)
                crashed |= cr
            else:
                fl, an, pr = modelscan(os.path.join(res, f"modelscan-{s}.json"), d)
            flagged |= {(s, f) for f in fl}
            anyf |= {(s, f) for f in an}
            problems |= {(s, f) for f in pr}
        det = sum(1 for k in flagged if truth.get(k))
        det_any = sum(1 for k in anyf if truth.get(k))
        fa = sorted(f for (s, f) in flagged if (s, f) in truth and not truth[(s, f)])
        fa_any = sum(1 for k in anyf if k in truth and not truth[k])
        missed = sorted(f for (s, f), m in truth.items() if m and (s, f) not in flagged)
        rows.append((tool, det, det_any, len(fa), fa_any, len(problems), missed, fa, crashed))
    print(f"{'tool':<12} {'detected(high+)':>16} {'detected(any)':>14} {'false alarms(high+)':>20} "
          f"{'alarms(any)':>12} {'errors/incomplete':>18}")
    for tool, det, det_any, fa, fa_any, pr, missed, fal, crashed in rows:
        print(f"{tool:<12} {det:>10}/{n_mal:<5} {det_any:>8}/{n_mal:<5} {fa:>14}/{n_ben:<5} "
              f"{fa_any:>6}/{n_ben:<5} {pr:>18}" + ("  (crashed on part of the input)" if crashed else ""))
    for s in sets:
        txt = open(os.path.join(res, f"picklescan-{s}.txt"), errors="replace").read()
        m = re.search(r"Suspicious globals: (\d+)", txt)
        if m:
            print(f"  picklescan on {s}: {m.group(1)} 'suspicious' globals in its summary (not counted as alarms)")
    for tool, det, _, _, _, _, missed, fal, _ in rows:
        if missed:
            print(f"  {tool} missed: {' '.join(missed)}")
        if fal:
            print(f"  {tool} false alarms: {' '.join(fal)}")


if __name__ == "__main__":
    main()
