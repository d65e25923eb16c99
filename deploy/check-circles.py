#!/usr/bin/python3
"""check-circles.py: no two source files of a program call each other,
directly or around a circle (ARCHITECTURE.md).  Reads the program's
object files with nm: an edge a.c -> b.c when a.o uses a symbol b.o
defines.  Prints each program's edges with --verbose, and every circle;
exits 1 when there is one.  Usage: check-circles.py [--verbose]
NAME=OBJ... [NAME=OBJ...]  (objects of one program joined by commas)."""
import os
import subprocess
import sys


def edges_of(objs):
    defs, uses = {}, {}
    for o in objs:
        name = os.path.basename(o)[: -len(".o")]
        out = subprocess.run(["nm", o], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBR":
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                uses.setdefault(name, set()).add(f[1])
    edges = {}
    for name, syms in uses.items():
        for s in syms:
            if defs.get(s, name) != name:
                edges.setdefault(name, set()).add(defs[s])
    return edges


def circles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def main(argv):
    verbose = "--verbose" in argv
    bad = 0
    for arg in [a for a in argv if a != "--verbose"]:
        prog, _, objs = arg.partition("=")
        edges = edges_of([o for o in objs.split(",") if o])
        if verbose:
            for f in sorted(edges):
                print("%s: %s -> %s" % (prog, f, " ".join(sorted(edges[f]))))
        found = circles(edges)
        for c in found:
            print("%s: circle: %s" % (prog, " <-> ".join(c)))
        print("%s: %d files, %s" % (prog, len(edges),
                                    "%d circle(s)" % len(found) if found
                                    else "no circle"))
        bad += len(found)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
