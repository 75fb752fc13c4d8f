"""libfedc's exported symbols are its public API and nothing else.

usage: check_exports.py LIBFEDC_SO INCLUDE_DIR

1. Lists the shared library's defined dynamic symbols (nm -D --defined-only) and fails on
   any whose name does not start with "fedc_": the library is built with hidden visibility,
   so an unprefixed export means an internal function was marked for export.
2. Reads every function (and extern variable) declared in INCLUDE_DIR/fedc/*.h and fails on
   any that is not marked FEDC_API (include/fedc/export.h) or not exported: a public
   function someone forgot to mark, or one declared but never defined.

Each failure names the symbol and what to do. Exit status 0 when both hold.
"""
import glob
import os
import re
import subprocess
import sys

# Symbols the toolchain itself may put in a shared library's dynamic table.
TOOLCHAIN = {"_init", "_fini", "__bss_start", "_edata", "_end"}


def strip_comments(text):
    """Comments and string literals blanked out, line structure kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(q + " " * (j - i - 2) + q if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def top_level_statements(text):
    """(start offset, statement text) of each top-level declaration of a header:
    preprocessor lines are skipped, a braced body (struct, enum, inline function)
    stays part of its statement."""
    clean = strip_comments(text)
    stmts, i, n = [], 0, len(clean)
    start, depth = None, 0
    while i < n:
        c = clean[i]
        if start is None:
            if c.isspace():
                i += 1
                continue
            if c == "#":  # a preprocessor line, with its continuations
                while i < n:
                    j = clean.find("\n", i)
                    j = n if j < 0 else j
                    if clean[i:j].rstrip().endswith("\\"):
                        i = j + 1
                        continue
                    i = j + 1
                    break
                continue
            start = i
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and re.search(r"\)\s*$", clean[start:clean.find("{", start)]):
                stmts.append((start, clean[start:i + 1]))  # a function body (static inline)
                start = None
        elif c == ";" and depth == 0:
            stmts.append((start, clean[start:i + 1]))
            start = None
        i += 1
    return stmts


def declared_names(stmt):
    """(name, kind) of a function or extern variable declaration; None for anything else."""
    s = " ".join(stmt.split())
    if s.startswith(("typedef", "static", "struct", "enum", "union")) or "{" in s:
        return None
    depth, i = 0, 0
    for m in re.finditer(r"[()]|\b[A-Za-z_]\w*\b", s):
        tok = m.group(0)
        if tok == "(":
            if depth == 0 and i > 0 and prev_ident:
                return prev_ident, "function"
            depth += 1
        elif tok == ")":
            depth -= 1
        i += 1
        prev_ident = tok if tok not in "()" else None
    if s.startswith("extern") or re.match(r"FEDC_API\s+extern", s):
        m = re.search(r"\b([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*;$", s)
        if m:
            return m.group(1), "variable"
    return None


def public_declarations(include_dir):
    """[(header, name, kind, marked)] for every declaration of include_dir/fedc/*.h."""
    out = []
    for h in sorted(glob.glob(os.path.join(include_dir, "fedc", "*.h"))):
        if os.path.basename(h) == "export.h":
            continue
        text = open(h).read()
        for _, stmt in top_level_statements(text):
            d = declared_names(stmt)
            if d:
                marked = re.match(r"\s*FEDC_API\b", stmt) is not None
                out.append((os.path.relpath(h, os.path.dirname(include_dir)), d[0], d[1], marked))
    return out


def exported(lib):
    p = subprocess.run(["nm", "-D", "--defined-only", lib], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        sys.exit(f"nm -D {lib} failed: {p.stderr.strip()}")
    names = set()
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lib, include_dir = sys.argv[1], sys.argv[2]
    names = exported(lib)
    problems = []
    for s in sorted(names):
        if not s.startswith("fedc_") and s not in TOOLCHAIN:
            problems.append(f"exported without the fedc_ prefix: {s} (internal: drop its FEDC_API; public: rename it)")
    decls = public_declarations(include_dir)
    for header, name, kind, marked in decls:
        if not marked:
            problems.append(f"{header}: {kind} {name} is not marked FEDC_API (public API: mark it; internal: "
                            "move it to a header under src/)")
        elif name not in names:
            problems.append(f"{header}: {kind} {name} is declared FEDC_API but libfedc does not export it "
                            "(never defined, or defined outside the library)")
    public = sum(1 for d in decls if d[3])
    print(f"{lib}: {len(names)} exported symbols; {public} public declarations in {include_dir}/fedc")
    for p in problems:
        print("  " + p)
    if problems:
        sys.exit(f"{len(problems)} problem(s)")
    print("ok: every export is fedc_-prefixed and every public declaration is exported")


if __name__ == "__main__":
    main()
