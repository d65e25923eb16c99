#!/usr/bin/python3
"""check-circles.py: the layering rules of ARCHITECTURE.md, checked on
what the build made.  For each program:

- calls: no two source files call each other, directly or around a
  circle.  From the program's object files with nm: an edge a.c -> b.c
  when a.o uses a symbol b.o defines.
- includes: no two files include each other, directly or around a
  circle.  Every #include "..." of the program's sources (found from
  the object files' paths) and of the headers they reach, resolved as
  the compiler would: the including file's folder, then the folders of
  the program's sources.
- for a program given --layers (folders, bottom to top): no file
  includes a header of a layer above its own, and every function or
  variable a layer's header declares is defined in that layer (a header
  is where its layer offers what it defines, never where another
  layer's functions are announced).

Prints each program's edges with --verbose, and every violation; exits
1 when there is one, 2 when it cannot check (nm missing, an object file
missing, a folder without sources): a check that did not run must not
pass.  Usage: check-circles.py --root SRC --build BIN [--nm NM]
[--verbose] [--layers PROG=DIR,DIR,...] NAME=OBJ[,OBJ...] ...
(layer folders relative to SRC; objects of one program joined by
commas)."""
import os
import re
import subprocess
import sys


class CannotCheck(Exception):
    pass


def nm_symbols(nm, obj):
    if not os.path.isfile(obj):
        raise CannotCheck("no object file %s: build first" % obj)
    try:
        out = subprocess.run([nm, obj], capture_output=True, text=True)
    except OSError as e:
        raise CannotCheck("cannot run %s (%s): binutils is needed "
                          "(deploy/install-deps.sh installs it)" % (nm, e))
    if out.returncode != 0:
        raise CannotCheck("%s %s failed: %s" % (nm, obj, out.stderr.strip()))
    defs, uses = set(), set()
    for line in out.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBR":
            defs.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            uses.add(f[1])
    return defs, uses


def source_of(obj, root, build):
    """The source an object was compiled from: CMake puts SRC/dir/x.c's
    object at BIN/dir/CMakeFiles/TARGET.dir/x.c.o.  None if generated."""
    rel = os.path.relpath(os.path.abspath(obj), build)
    head, sep, tail = rel.partition("/CMakeFiles/")
    _, sep2, src = tail.partition(".dir/")
    if not sep or not sep2 or not src.endswith(".o"):
        raise CannotCheck("%s: not an object of a CMake target under %s"
                          % (obj, build))
    path = os.path.normpath(os.path.join(root, "" if head == "." else head,
                                         src[:-2]))
    return path if os.path.isfile(path) else None


def circles(edges):
    """Strongly connected components of more than one node (Tarjan)."""
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

    sys.setrecursionlimit(10000)
    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def include_graph(sources):
    """file -> files it includes (of this program's folders), from the
    sources and every header they reach.  Raises on an ambiguous name."""
    dirs = sorted({os.path.dirname(s) for s in sources})
    edges, todo, seen = {}, list(sources), set()
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for name in INCLUDE.findall(read(f)):
            own = os.path.join(os.path.dirname(f), name)
            if os.path.isfile(own):
                hits = [os.path.normpath(own)]
            else:
                hits = [os.path.join(d, name) for d in dirs
                        if os.path.isfile(os.path.join(d, name))]
            if len(hits) > 1:
                raise CannotCheck("%s: #include \"%s\" is ambiguous: %s"
                                  % (f, name, " ".join(hits)))
            if hits:  # else common/, generated code, the system
                edges.setdefault(f, set()).add(hits[0])
                todo.append(hits[0])
    return edges


def strip_c(text):
    """Code without comments, string literals and preprocessor lines."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "typeof",
            "__attribute__", "_Static_assert", "_Generic", "defined"}


def name_before(code, i):
    """The identifier that ends at code[i] (spaces skipped), its start."""
    j = i
    while j > 0 and code[j - 1].isspace():
        j -= 1
    k = j
    while k > 0 and (code[k - 1].isalnum() or code[k - 1] == "_"):
        k -= 1
    return code[k:j], k


def declared(header):
    """Names of the functions and extern variables a header declares at
    file scope: a name followed by '(' after a type (an identifier or a
    '*'), outside any braces or parentheses; or the name an extern
    declaration ends with."""
    code = strip_c(read(header))
    names, braces, parens = set(), 0, 0
    for i, ch in enumerate(code):
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        elif ch == ")":
            parens -= 1
        elif ch == "(":
            if braces == 0 and parens == 0:
                name, k = name_before(code, i)
                type_end, _ = name_before(code, k)
                star = code[:k].rstrip().endswith("*")
                if name and not name[0].isdigit() and \
                        name not in KEYWORDS and (type_end or star):
                    names.add(name)
            parens += 1
    for m in re.finditer(r"\bextern\b[^;{}()]*?\b([A-Za-z_]\w*)\s*"
                         r"(?:\[[^\]]*\]\s*)*;", code):
        names.add(m.group(1))
    return names


def layer_of(path, layers):
    d = os.path.dirname(path)
    return layers.index(d) if d in layers else None


def check_program(prog, objs, args):
    """Prints what it finds; returns the number of violations."""
    root, build = args["root"], args["build"]
    layers = args["layers"].get(prog)
    if not objs:
        raise CannotCheck("%s: no object files given" % prog)
    defs, uses, src = {}, {}, {}
    for o in objs:
        d, u = nm_symbols(args["nm"], o)
        s = source_of(o, root, build)
        name = os.path.relpath(s, root) if s else os.path.basename(o)
        src[name] = s
        for sym in d:
            defs[sym] = name
        uses[name] = u
    bad = 0
    calls = {}
    for name, syms in uses.items():
        for s in syms:
            if defs.get(s, name) != name:
                calls.setdefault(name, set()).add(defs[s])
    if args["verbose"]:
        for f in sorted(calls):
            print("%s: %s -> %s" % (prog, f, " ".join(sorted(calls[f]))))
    for c in circles(calls):
        print("%s: circle of calls: %s" % (prog, " <-> ".join(c)))
        bad += 1

    sources = sorted(s for s in src.values() if s)
    if not sources:
        raise CannotCheck("%s: no source file found for its objects" % prog)
    inc = include_graph(sources)
    rel = {f: os.path.relpath(f, root) for f in
           set(inc) | {g for gs in inc.values() for g in gs}}
    named = {rel[f]: {rel[g] for g in gs} for f, gs in inc.items()}
    if args["verbose"]:
        for f in sorted(named):
            print("%s: %s includes %s" % (prog, f,
                                          " ".join(sorted(named[f]))))
    for c in circles(named):
        print("%s: circle of includes: %s" % (prog, " <-> ".join(c)))
        bad += 1
    if layers is not None:
        bad += check_layers(prog, layers, inc, rel, defs, args)
    print("%s: %d files, %d includes%s, %s" % (
        prog, len(uses), sum(len(g) for g in inc.values()),
        ", %d layers" % len(layers) if layers else "",
        "%d violation(s)" % bad if bad else "no circle"
        + (", nothing upward" if layers else "")))
    return bad


def check_layers(prog, layers, inc, rel, defs, args):
    root, bad = args["root"], 0
    dirs = [os.path.normpath(os.path.join(root, d)) for d in layers]
    for d in dirs:
        if not os.path.isdir(d) or not any(
                n.endswith((".c", ".h")) for n in os.listdir(d)):
            raise CannotCheck("%s: layer %s has no sources" % (prog, d))
    for f, gs in sorted(inc.items()):
        lf = layer_of(f, dirs)
        for g in sorted(gs):
            lg = layer_of(g, dirs)
            if lf is not None and lg is not None and lg > lf:
                print("%s: upward include: %s (%s) includes %s (%s)" % (
                    prog, rel[f], layers[lf], rel[g], layers[lg]))
                bad += 1
    for d in dirs:
        for h in sorted(n for n in os.listdir(d) if n.endswith(".h")):
            header = os.path.join(d, h)
            for sym in sorted(declared(header)):
                where = defs.get(sym)
                if where is None:
                    continue  # defined outside this program, or inline
                ld = layer_of(os.path.join(root, where), dirs)
                if ld is not None and ld != dirs.index(d):
                    print("%s: %s declares %s, which %s (%s) defines: "
                          "a header belongs to the layer that defines "
                          "its functions" % (
                              prog, os.path.relpath(header, root), sym,
                              where, layers[ld]))
                    bad += 1
    return bad


def parse(argv):
    args = {"verbose": False, "nm": "nm", "root": None, "build": None,
            "layers": {}, "progs": []}
    it = iter(argv)
    for a in it:
        if a == "--verbose":
            args["verbose"] = True
        elif a in ("--nm", "--root", "--build"):
            args[a[2:]] = next(it, None)
        elif a == "--layers":
            prog, _, dirs = (next(it, None) or "").partition("=")
            args["layers"][prog] = [os.path.normpath(d)
                                    for d in dirs.split(",") if d]
        elif "=" in a and not a.startswith("-"):
            prog, _, objs = a.partition("=")
            args["progs"].append((prog, [o for o in objs.split(",") if o]))
        else:
            raise CannotCheck("unknown argument %r (see the header of "
                              "this script)" % a)
    if not args["root"] or not args["build"] or not args["progs"]:
        raise CannotCheck("usage: check-circles.py --root SRC --build BIN "
                          "[--nm NM] [--verbose] [--layers PROG=DIR,...] "
                          "NAME=OBJ,... ...")
    for prog in args["layers"]:
        if prog not in dict(args["progs"]):
            raise CannotCheck("--layers %s: no such program" % prog)
    return args


def main(argv):
    try:
        args = parse(argv)
        bad = sum(check_program(p, o, args) for p, o in args["progs"])
    except CannotCheck as e:
        print("check-circles: cannot check: %s" % e, file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
