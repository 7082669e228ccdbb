#!/usr/bin/env python3
"""Generates src/protobuf/schema.rs: the protobuf -> JSON field table.

Inputs are the upstream Kubernetes sources at one release tag, read with
`git show` from local clones of k8s.io/api and k8s.io/apimachinery:

* `generated.proto` of each package gives message names, field numbers and
  protobuf types (proto2, as go-to-protobuf writes them);
* the package's Go files give, for the struct of the same name, the field's
  JSON name, `omitempty`, whether the Go field is a pointer, and whether it is
  an embedded struct flattened into its parent (`json:",inline"`). Proto and
  Go fields are matched by the number in the Go `protobuf:"..."` tag.

Usage (needs git and rustfmt on PATH; the output is already rustfmt-formatted):
    python3 tools/gen_protobuf_schema.py API_GIT_DIR MACHINERY_GIT_DIR TAG > src/protobuf/schema.rs
e.g. API_GIT_DIR = a bare or normal clone of github.com/kubernetes/api,
MACHINERY_GIT_DIR = one of github.com/kubernetes/apimachinery, TAG = v0.33.13
(both repositories tag their releases v0.<minor>.<patch>).

To cover another API group, add its package to PACKAGES; messages reachable from
the kinds (and nothing else) are emitted.
"""

import re
import subprocess
import sys

# (repo key, package dir, API group or None when not an API group, version)
PACKAGES = [
    ("machinery", "pkg/apis/meta/v1", "meta.k8s.io", "v1"),
    ("machinery", "pkg/runtime", None, None),
    ("machinery", "pkg/api/resource", None, None),
    ("machinery", "pkg/util/intstr", None, None),
    ("api", "core/v1", "", "v1"),
    ("api", "apps/v1", "apps", "v1"),
    ("api", "batch/v1", "batch", "v1"),
    ("api", "policy/v1", "policy", "v1"),
    ("api", "scheduling/v1", "scheduling.k8s.io", "v1"),
    ("api", "rbac/v1", "rbac.authorization.k8s.io", "v1"),
    ("api", "coordination/v1", "coordination.k8s.io", "v1"),
    ("api", "autoscaling/v1", "autoscaling", "v1"),
    ("api", "autoscaling/v2", "autoscaling", "v2"),
    ("api", "discovery/v1", "discovery.k8s.io", "v1"),
    ("api", "events/v1", "events.k8s.io", "v1"),
    ("api", "storage/v1", "storage.k8s.io", "v1"),
    ("api", "networking/v1", "networking.k8s.io", "v1"),
    ("api", "authentication/v1", "authentication.k8s.io", "v1"),
    ("api", "authorization/v1", "authorization.k8s.io", "v1"),
]

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
# Messages whose Go types have their own JSON form.
SPECIAL = {
    META + ".Time": "Time",
    META + ".MicroTime": "MicroTime",
    META + ".Duration": "Duration",
    META + ".FieldsV1": "RawJson",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "RawJson",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": "Quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
}
# Messages that never appear inside an object; not emitted.
SKIP = {
    META + ".Timestamp",
    "k8s.io.apimachinery.pkg.runtime.Unknown",
    "k8s.io.apimachinery.pkg.runtime.TypeMeta",
}
SCALARS = {"string": "String", "bytes": "Bytes", "bool": "Bool", "int32": "Int32", "int64": "Int64"}


def git_show(git_dir, tag, path):
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{tag}:{path}"],
        check=True, capture_output=True, text=True).stdout


def git_ls(git_dir, tag, path):
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "--name-only", f"{tag}:{path}"],
        check=True, capture_output=True, text=True).stdout
    return out.split()


def strip_comments(text):
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def parse_proto(text):
    text = strip_comments(text)
    package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
    messages = {}
    for m in re.finditer(r"^message\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
        fields = []
        for line in m.group(2).splitlines():
            line = line.strip()
            if not line:
                continue
            fm = re.fullmatch(r"(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", line)
            if fm:
                fields.append({"label": fm.group(1), "type": fm.group(2), "name": fm.group(3),
                               "num": int(fm.group(4))})
                continue
            fm = re.fullmatch(r"map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;", line)
            if fm:
                fields.append({"label": "map", "key": fm.group(1), "type": fm.group(2),
                               "name": fm.group(3), "num": int(fm.group(4))})
                continue
            sys.exit(f"unparsed proto line in {package}.{m.group(1)}: {line!r}")
        messages[m.group(1)] = fields
    return package, messages


TAG_RE = re.compile(r'(\w+):"([^"]*)"')


OBJECT_MARKER = "+k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object"


def parse_go(files):
    """Returns ({struct name: [field]}, {named slice type names}, {runtime.Object type names})."""
    structs, slices, objects = {}, set(), set()
    for text in files:
        for m in re.finditer(r"^type\s+(\w+)\s+\[\]", text, re.M):
            slices.add(m.group(1))
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^type\s+(\w+)\s+struct\s*\{\s*(\}?)\s*$", lines[i])
            if not m:
                i += 1
                continue
            name, depth, fields = m.group(1), 0 if m.group(2) else 1, []
            j = i - 1
            while j >= 0 and (lines[j].startswith("//") or not lines[j].strip()):
                if OBJECT_MARKER in lines[j]:
                    objects.add(name)
                j -= 1
            i += 1
            while i < len(lines) and depth > 0:
                line = lines[i]
                if line.strip().startswith("//"):
                    line = ""
                elif "`" not in line:
                    line = line.split("//", 1)[0]
                depth += line.count("{") - line.count("}")
                if depth == 1:
                    f = parse_go_field(line)
                    if f:
                        fields.append(f)
                i += 1
            structs[name] = fields
    return structs, slices, objects


def parse_go_field(line):
    if "`" not in line:
        return None
    code, tag = line.split("`", 1)
    tag = tag.rsplit("`", 1)[0]
    tags = dict(TAG_RE.findall(tag))
    parts = code.split()
    if len(parts) == 1:
        gname, gtype, embedded = None, parts[0], True
    elif len(parts) == 2:
        gname, gtype, embedded = parts[0], parts[1], False
    else:
        sys.exit(f"unparsed Go field: {line!r}")
    json_tag = tags.get("json")
    json_name, opts = None, set()
    if json_tag is not None:
        pieces = json_tag.split(",")
        json_name, opts = pieces[0], set(pieces[1:])
    unknown = opts - {"omitempty", "inline"}
    if unknown:
        sys.exit(f"unsupported json options {unknown} in {line!r}")
    pb = tags.get("protobuf")
    num = None
    if pb and pb != "-":
        num = int(pb.split(",")[1])
    base = gtype.lstrip("*")
    if json_name is None:
        json_name = gname or base.split(".")[-1]
    return {
        "go_name": gname, "go_type": gtype, "json": json_name, "omitempty": "omitempty" in opts,
        "pointer": gtype.startswith("*"), "inline": embedded and (json_tag is None or json_name == ""),
        "skip": json_name == "-", "num": num,
    }


def rust_ident(fq):
    pkg, name = fq.rsplit(".", 1)
    short = pkg.replace("k8s.io.apimachinery.pkg.apis.", "").replace("k8s.io.apimachinery.pkg.", "") \
        .replace("k8s.io.api.", "")
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return (short.replace(".", "_") + "_" + snake).upper()


def main():
    api_dir, machinery_dir, tag = sys.argv[1:4]
    repos = {"api": api_dir, "machinery": machinery_dir}
    messages = {}  # fq name -> dict
    order = []
    kinds = []
    for repo, path, group, version in PACKAGES:
        git_dir = repos[repo]
        package, protos = parse_proto(git_show(git_dir, tag, f"{path}/generated.proto"))
        go_files = [git_show(git_dir, tag, f"{path}/{f}") for f in git_ls(git_dir, tag, path)
                    if f.endswith(".go") and not f.endswith("_test.go")
                    and not f.startswith("zz_generated") and f != "generated.pb.go"]
        structs, slices, objects = parse_go(go_files)
        for name, pfields in protos.items():
            fq = f"{package}.{name}"
            if fq in SKIP:
                continue
            render = SPECIAL.get(fq)
            if render is None and name in slices:
                render = "List"
            gofields = structs.get(name, []) if render in (None, "IntOrString") else []
            if render is None and name not in structs:
                # e.g. core/v1 `type List metav1.List`: never nested in an object.
                print(f"skipping {fq}: no Go struct", file=sys.stderr)
                continue
            by_num = {f["num"]: f for f in gofields if f["num"] is not None}
            for pf in pfields:
                gf = by_num.get(pf["num"])
                if render in (None, "IntOrString") and gf is None:
                    sys.exit(f"{fq}.{pf['name']} ({pf['num']}) has no Go field")
            for gf in gofields:
                if gf["num"] is not None and gf["num"] not in {p["num"] for p in pfields}:
                    sys.exit(f"Go field {name}.{gf['go_name']} has no proto field")
            # Go struct order (JSON output order), then proto-only fields.
            ordered = []
            pnum = {p["num"]: p for p in pfields}
            for gf in gofields:
                if gf["num"] in pnum:
                    ordered.append((pnum[gf["num"]], gf))
            if not gofields:
                ordered = [(p, None) for p in pfields]
            messages[fq] = {"package": package, "name": name, "render": render or "Struct",
                            "fields": ordered, "slices": slices}
            order.append(fq)
            if group is not None and version is not None:
                if name in objects and not name.endswith("List") and fq not in (
                        META + ".DeleteOptions",) and any(
                        p["name"] == "metadata" and p["type"].endswith("ObjectMeta") for p in pfields):
                    api_version = f"{group}/{version}" if group else version
                    kinds.append((api_version, name, fq))

    def resolve(package, typ):
        if typ in SCALARS:
            return None
        fq = typ[1:] if typ.startswith(".") else f"{package}.{typ}"
        if fq not in messages:
            sys.exit(f"unresolved type {typ} in {package}")
        return fq

    # Keep only the messages reachable from a kind.
    reachable, todo = set(), [fq for _, _, fq in kinds] + [META + ".DeleteOptions"]
    while todo:
        fq = todo.pop()
        if fq in reachable:
            continue
        reachable.add(fq)
        for pf, _ in messages[fq]["fields"]:
            target = resolve(messages[fq]["package"], pf["type"])
            if target:
                todo.append(target)
    order = [fq for fq in order if fq in reachable]

    out = []
    w = out.append
    w("//! The protobuf -> JSON field table for the built-in Kubernetes types.")
    w("//!")
    w(f"//! GENERATED by `tools/gen_protobuf_schema.py` from k8s.io/api and k8s.io/apimachinery {tag}")
    w("//! (`generated.proto` for field numbers and types, the Go structs for JSON names,")
    w("//! `omitempty`, pointers and inlined fields). Do not edit by hand.")
    w("")
    w("use super::decode::{F_INLINE, F_OMITEMPTY, F_POINTER, Field, Message, Render, Shape, Ty};")
    w("")
    w("const fn f(number: u32, json: &'static str, ty: Ty, shape: Shape, flags: u8) -> Field {")
    w("    Field { number, json, ty, shape, flags }")
    w("}")
    w("")
    w("use Shape::{Map as M, One as O, Repeated as R};")
    w("use Ty::{Bool as B, Bytes as Y, Int32 as I, Int64 as L, Msg, String as S};")
    w("const E: u8 = F_OMITEMPTY;")
    w("const P: u8 = F_POINTER;")
    w("const EP: u8 = F_OMITEMPTY | F_POINTER;")
    w("const N: u8 = F_INLINE;")
    w("")
    short_ty = {"String": "S", "Bytes": "Y", "Bool": "B", "Int32": "I", "Int64": "L"}
    flag_names = {0: "0", 1: "E", 2: "P", 3: "EP", 4: "N", 5: "N | E", 6: "N | P", 7: "N | EP"}
    n_fields = 0
    for fq in order:
        msg = messages[fq]
        rows = []
        for pf, gf in msg["fields"]:
            if gf is not None and gf["skip"] and msg["render"] == "Struct":
                continue
            shape = {"optional": "O", "repeated": "R", "map": "M"}[pf["label"]]
            if shape == "M" and pf["key"] != "string":
                sys.exit(f"non-string map key in {fq}")
            target = resolve(msg["package"], pf["type"])
            ty = f"Msg(&{rust_ident(target)})" if target else short_ty[SCALARS[pf["type"]]]
            flags = 0
            json_name = pf["name"]
            if gf is not None:
                json_name = gf["json"]
                if gf["omitempty"]:
                    flags |= 1
                if gf["pointer"]:
                    flags |= 2
                if gf["inline"]:
                    flags |= 4
                    json_name = ""
                base = gf["go_type"].lstrip("*").split(".")[-1]
                # A field of a named slice type (e.g. `Verbs`) behaves like a slice.
                if target and messages[target]["render"] == "List" and base == messages[target]["name"]:
                    flags |= 2
            rows.append(f'    f({pf["num"]}, "{json_name}", {ty}, {shape}, {flag_names[flags]}),')
            n_fields += 1
        ident = rust_ident(fq)
        w(f"pub(super) static {ident}: Message = Message {{")
        w(f'    name: "{fq}",')
        w(f"    render: Render::{msg['render']},")
        if rows:
            w("    fields: &[")
            for r in rows:
                w("    " + r)
            w("    ],")
        else:
            w("    fields: &[],")
        w("};")
    w("")
    w("/// The top-level kinds: `(apiVersion, kind, message)`.")
    w("pub(super) static KINDS: &[(&str, &str, &Message)] = &[")
    for api_version, kind, fq in kinds:
        w(f'    ("{api_version}", "{kind}", &{rust_ident(fq)}),')
    w("];")
    w("")
    w("/// `meta.k8s.io/v1` `DeleteOptions`, accepted under every apiVersion.")
    w(f"pub(super) static DELETE_OPTIONS: &Message = &{rust_ident(META + '.DeleteOptions')};")
    # Print rustfmt's layout so that `cargo fmt --check` accepts the file as is.
    formatted = subprocess.run(["rustfmt", "--edition", "2024", "--emit", "stdout"],
                               input="\n".join(out) + "\n", check=True, capture_output=True,
                               text=True).stdout
    print(formatted, end="")
    print(f"{len(order)} messages, {n_fields} fields, {len(kinds)} kinds", file=sys.stderr)


if __name__ == "__main__":
    main()
