#!/usr/bin/env bash
# Prints the import graph between the top-level modules of each crate given (default: every
# crate in crates/) and exits 1 if any crate's graph has a cycle (module a uses `crate::b::..`
# while b uses `crate::a::..`, directly or round a longer loop).
#
# Usage: scripts/module-cycles.sh [--quiet] [--no-tests] [crates/<name> ...]
#   --quiet     print only the cycles, not the whole graph
#   --no-tests  leave out edges that only test code makes
#
# An edge a -> b is any path into b from code in a's files: `use crate::b::..` (nested use
# groups included), an inline `crate::b::..` path, `super::..` that climbs to the crate root and
# names b, and `crate::Item` where the crate root re-exports Item from b (`pub use b::Item` or
# `pub use b::*`). Test code counts too (a `#[cfg(test)]` module is still part of its module),
# but an edge only test code makes is marked "(test)" and --no-tests leaves it out.
# Comments, strings and `$crate` macro paths are skipped. Python 3 standard library only.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os
import re
import sys

USE_RE = re.compile(r"\buse\s+([^;]+);")
PATH_RE = re.compile(r"(?<![\w$:])(?<!\bin )(crate|super|self)((?:\s*::\s*\w+)+)")
INLINE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*\{")
FILE_MOD_RE = re.compile(r"\bmod\s+(\w+)\s*;")
# `#[cfg(test)]`, maybe more attributes and a visibility, right before a `mod`.
CFG_TEST_BEFORE_RE = re.compile(
    r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\s*\([^)]*\))?\s+)?$"
)
PUB_ITEM_RE = re.compile(
    r"\bpub\s+(?:(?:const|async|unsafe)\s+)*"
    r"(?:struct|enum|fn|type|trait|const|static|mod|union)\s+(\w+)"
)


def strip_code(text):
    """Blanks comments, string and char literals (newlines kept, so line numbers still hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif re.match(r'b?r#*"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', text[i:])
            if m is None:
                out.append(c)
                i += 1
                continue
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'", text[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_top(s, sep=","):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree, prefix=()):
    """`a::{b, c::{d, e as f}}` -> [(a,b), (a,c,d), (a,c,e)]: the imported paths."""
    tree = re.sub(r"\s+", " ", tree).strip()
    tree = re.sub(r"\s*::\s*", "::", tree)
    brace = tree.find("{")
    if brace < 0:
        path = tree.split(" as ")[0].strip()
        segs = tuple(s for s in path.split("::") if s)
        return [prefix + segs]
    head = tuple(s for s in tree[:brace].split("::") if s)
    inner = tree[brace + 1:tree.rfind("}")]
    paths = []
    for part in split_top(inner):
        paths += expand_use(part, prefix + head)
    return paths


def module_path(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel in (["lib"], ["main"]):
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def cfg_test_before(code, pos):
    return CFG_TEST_BEFORE_RE.search(code[max(0, pos - 300):pos]) is not None


def inline_mod_spans(code):
    """(start, end, name, under #[cfg(test)]) of each inline `mod name { .. }` block."""
    spans = []
    for m in INLINE_MOD_RE.finditer(code):
        depth, j = 0, m.end() - 1
        while j < len(code):
            if code[j] == "{":
                depth += 1
            elif code[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        spans.append((m.start(), j, m.group(1), cfg_test_before(code, m.start())))
    return spans


def crate_graph(crate):
    src = os.path.join(crate, "src")
    files = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if not (dirpath == src and d == "bin"))
        files += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".rs")]
    codes = {}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            codes[f] = strip_code(fh.read())
    modules = sorted({module_path(src, f)[0] for f in files if module_path(src, f)})

    # What the crate root re-exports, by name: `pub use a::X` / `pub use a::{X as Y}` / `a::*`.
    root_names, globs = {}, []
    for f in files:
        if module_path(src, f):
            continue
        for m in USE_RE.finditer(codes[f]):
            for segs, alias in use_items(m.group(1)):
                if segs and segs[0] == "self":
                    segs = segs[1:]
                if segs and segs[0] in modules:
                    if segs[-1] == "*":
                        if len(segs) == 2:
                            globs.append(segs[0])
                    else:
                        root_names[alias] = segs[0]
    for g in globs:
        for f in files:
            mp = module_path(src, f)
            if mp[:1] == (g,) and len(mp) == 1:
                for m in PUB_ITEM_RE.finditer(codes[f]):
                    root_names.setdefault(m.group(1), g)

    # Module paths declared `#[cfg(test)] mod name;`: their files are test code.
    test_mods = set()
    for f in files:
        for m in FILE_MOD_RE.finditer(codes[f]):
            if cfg_test_before(codes[f], m.start()):
                test_mods.add(module_path(src, f) + (m.group(1),))

    def target(segs):
        if not segs:
            return None
        if segs[0] in modules:
            return segs[0]
        return root_names.get(segs[0])

    edges = {}
    for f in files:
        mp = module_path(src, f)
        if not mp:
            continue
        code = codes[f]
        spans = inline_mod_spans(code)
        test_file = any(mp[:k] in test_mods for k in range(1, len(mp) + 1))
        found = []
        for m in USE_RE.finditer(code):
            for segs, _ in use_items(m.group(1)):
                found.append((m.start(), segs))
        for m in PATH_RE.finditer(code):
            segs = (m.group(1),) + tuple(re.sub(r"\s", "", m.group(2)).split("::")[1:])
            found.append((m.start(), segs))
        for pos, segs in found:
            if not segs or segs[0] not in ("crate", "super", "self"):
                continue
            around = [(name, test) for s, e, name, test in spans if s < pos < e]
            here = mp + tuple(name for name, _ in around)
            in_test = test_file or any(test for _, test in around)
            if segs[0] == "crate":
                to = target(segs[1:])
            else:
                base = here
                rest = segs
                if rest[0] == "self":
                    rest = rest[1:]
                while rest and rest[0] == "super":
                    base, rest = base[:-1], rest[1:]
                to = base[0] if base else target(rest)
            if to and to != mp[0]:
                line = code.count("\n", 0, pos) + 1
                where = edges.setdefault(mp[0], {}).setdefault(to, [])
                entry = (f"{os.path.relpath(f)}:{line}", in_test)
                if entry not in where:
                    where.append(entry)
    return modules, edges


def use_items(tree):
    """(segments, bound name) of each path a use tree imports."""
    items = []
    for segs in expand_use(tree):
        segs = tuple(s for s in segs if s)
        if segs and segs[0] == "":
            segs = segs[1:]
        if segs and segs[-1] == "self":
            segs = segs[:-1]
        if not segs:
            continue
        alias = segs[-1]
        items.append((segs, alias))
    # Aliases: re-read `X as Y` where present, so root re-exports are found by their new name.
    for m in re.finditer(r"(\w+)\s+as\s+(\w+)", tree):
        items = [(s, m.group(2) if s[-1] == m.group(1) else a) for s, a in items]
    return items


def cycles(modules, edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
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
    for v in modules:
        if v not in index:
            visit(v)
    return out


def test_only(where):
    return all(test for _, test in where)


def main(argv):
    quiet = "--quiet" in argv
    no_tests = "--no-tests" in argv
    crates = [a.rstrip("/") for a in argv if a not in ("--quiet", "--no-tests")]
    if not crates:
        crates = sorted(
            os.path.join("crates", d)
            for d in os.listdir("crates")
            if os.path.isdir(os.path.join("crates", d, "src"))
        )
    any_cycle = False
    for crate in crates:
        if not os.path.isdir(os.path.join(crate, "src")):
            print(f"{crate}: no src/ folder", file=sys.stderr)
            return 2
        modules, edges = crate_graph(crate)
        if no_tests:
            edges = {
                a: {b: w for b, w in out.items() if not test_only(w)} for a, out in edges.items()
            }
        found = cycles(modules, edges)
        status = "CYCLES" if found else "acyclic"
        print(f"{crate}: {len(modules)} modules, {status}")
        if not quiet:
            for m in modules:
                out = edges.get(m, {})
                deps = [b + (" (test)" if test_only(out[b]) else "") for b in sorted(out)]
                print(f"  {m} -> {', '.join(deps) if deps else '(nothing)'}")
        for comp in found:
            any_cycle = True
            print(f"  cycle among: {', '.join(comp)}")
            members = set(comp)
            for a in comp:
                for b in sorted(edges.get(a, {})):
                    if b in members:
                        where = sorted(edges[a][b], key=lambda e: e[1])
                        more = f" (+{len(where) - 1} more)" if len(where) > 1 else ""
                        test = " (test code only)" if test_only(where) else ""
                        print(f"    {a} -> {b}: {where[0][0]}{more}{test}")
    return 1 if any_cycle else 0


sys.exit(main(sys.argv[1:]))
PY
