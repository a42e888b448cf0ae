#!/usr/bin/env python3
"""promnames.py -- checks that a Grafana dashboard and Prometheus rule files
name only metrics and labels that a live Prometheus exposition has.

Usage: promnames.py [--list] EXPOSITION FILE...
  --list      then print "FILE METRIC" for each metric a file names (also on problems)
  EXPOSITION  the output of `passthrough-stats --prometheus` (text format 0.0.4)
  FILE        a Grafana dashboard (*.json) or a Prometheus rule file (*.yml, *.yaml)

It checks each file's structure (a dashboard: schemaVersion, the
DS_PROMETHEUS input, the datasource/job/instance variables, every panel with a
title, a description, a datasource and targets with an expr, panels inside
the 24 columns and none over another; a rule file:
groups of rules, each an alert or a record with an expr, an alert with a
severity label and summary and description annotations), then takes every
PromQL expression apart with a small tokenizer and checks that each metric
name is a family of the exposition (a histogram's _bucket, _sum and _count
included) and that each label name in a matcher, in by/without/on/ignoring/
group_left/group_right, in label_values() and in an alert's {{ $labels.X }}
is a label of those metrics, with the value a matcher writes out. Labels Prometheus adds to every scraped series
(job, instance) and the synthetic series of a scrape (up) are allowed.

Prints one line per problem and exits 1 if there was any, else prints what
it checked and exits 0 (a file that cannot be read or parsed is a problem).
"""
import json
import re
import sys

import yaml

# Labels the Prometheus server attaches to every series of a target.
TARGET_LABELS = {"job", "instance"}
# Series Prometheus writes itself for each scrape (name: its labels).
SCRAPE_SERIES = {"up": {}}
# Words of PromQL that are not metric names.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan", "atan2"}
GROUPING = {"by", "without"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
MATCHING = {"on", "ignoring", "group_left", "group_right"}
SCHEMA_VERSIONS = range(38, 40)
GRID_COLUMNS = 24  # Grafana's dashboard grid
SEVERITIES = {"critical", "warning", "info"}
PANEL_TYPES_WITHOUT_QUERIES = {"row", "text"}

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"(0x[0-9A-Fa-f]+|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?"
                    r"(ms|[smhdwy])?([0-9]+(ms|[smhdwy]))*)")
# Grafana's variables: $name, ${name}, ${name:format}, [[name]]; outside a
# string they stand for a duration ($__rate_interval) or a number.
GRAFANA_VAR = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\]")


def exposition_read(path):
    """{family: {label: set of its values}} from a text exposition: a
    histogram's _bucket/_sum/_count samples count under their own names too."""
    families, types = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"# TYPE (\S+) (\S+)$", line)
            if m:
                types[m.group(1)] = m.group(2)
                families.setdefault(m.group(1), {})
                if m.group(2) == "histogram":
                    for suffix in ("_bucket", "_sum", "_count"):
                        families.setdefault(m.group(1) + suffix, {})
                continue
            if line == "" or line.startswith("#"):
                continue
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})? \S+$", line)
            if not m:
                raise SystemExit(f"{path}: not a sample: {line!r}")
            labels = families.setdefault(m.group(1), {})
            for name, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                          m.group(3) or ""):
                labels.setdefault(name, set()).add(re.sub(r"\\(.)", r"\1", value))
    return families, types


class Checker:
    def __init__(self, families):
        self.families = families
        self.problems = []
        self.exprs = 0
        self.names = {}  # file: the metric names its expressions use
        self.file = None
        self.top_level = []  # the dashboard's panels, rows included, not inside a row

    def problem(self, where, what):
        self.problems.append(f"{where}: {what}")

    # ---- PromQL -----------------------------------------------------------

    def tokens(self, where, expr):
        """(kind, text) pairs: ident, string, number, punct (one character, or
        a comparison/matching operator)."""
        out, i = [], 0
        while i < len(expr):
            c = expr[i]
            var = GRAFANA_VAR.match(expr, i)
            if var:
                out.append(("number", "5m"))
                i = var.end()
            elif c.isspace():
                i += 1
            elif c == "#":
                while i < len(expr) and expr[i] != "\n":
                    i += 1
            elif c in "\"'`":
                j = i + 1
                while j < len(expr) and expr[j] != c:
                    j += 2 if expr[j] == "\\" and c != "`" else 1
                if j >= len(expr):
                    self.problem(where, f"unterminated string in {expr!r}")
                    return None
                out.append(("string", expr[i + 1:j]))
                i = j + 1
            elif c.isdigit() or (c == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
                m = NUMBER.match(expr, i)
                out.append(("number", m.group(0)))
                i = m.end() if m.end() > i else i + 1
            elif IDENT.match(expr, i):
                m = IDENT.match(expr, i)
                out.append(("ident", m.group(0)))
                i = m.end()
            else:
                two = expr[i:i + 2]
                if two in ("=~", "!~", "!=", "==", ">=", "<="):
                    out.append(("punct", two))
                    i += 2
                else:
                    out.append(("punct", c))
                    i += 1
        return out

    def label_list(self, toks, i):
        """The label names of "( a, b )" at toks[i] and the index past it."""
        names = []
        if i >= len(toks) or toks[i] != ("punct", "("):
            return names, i
        i += 1
        while i < len(toks) and toks[i] != ("punct", ")"):
            if toks[i][0] == "ident":
                names.append(toks[i][1])
            i += 1
        return names, i + 1

    def label_known(self, label, metrics):
        if label in TARGET_LABELS or label == "__name__":
            return True
        for m in metrics:
            if label in self.families.get(m, SCRAPE_SERIES.get(m, {})):
                return True
            if m.endswith("_bucket") and label == "le":
                return True
        return False

    def metric_check(self, where, name):
        self.names.setdefault(self.file, set()).add(name)
        if name not in self.families and name not in SCRAPE_SERIES:
            self.problem(where, f"metric {name} is not in the exposition")

    def labels_check(self, where, labels, metrics, how):
        for label in labels:
            if not self.label_known(label, metrics):
                self.problem(where, f"label {label} ({how}) is on none of "
                             f"{', '.join(sorted(metrics)) or 'no metric'}")

    def expr_check(self, where, expr):
        """Checks one PromQL expression; returns the metrics it names."""
        self.exprs += 1
        toks = self.tokens(where, expr)
        if toks is None:
            return set()
        depth = 0
        # One frame per open parenthesis: the metrics named inside it and the
        # grouping labels written before it ("sum by (x) (...)").
        frames = [{"metrics": set(), "grouping": []}]
        pending, closed, matching = [], set(), []  # closed: the last group's metrics
        i = 0
        while i < len(toks):
            kind, text = toks[i]
            nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
            if kind == "ident" and text in GROUPING:
                after_args = i > 0 and toks[i - 1] == ("punct", ")")
                labels, i = self.label_list(toks, i + 1)
                if after_args:  # "sum(...) by (x)": the group just closed
                    self.labels_check(where, labels, closed, text)
                else:  # "sum by (x) (...)": the group that follows
                    pending = labels
                continue
            if kind == "ident" and text in MATCHING:
                labels, i = self.label_list(toks, i + 1)
                matching.extend(labels)
                continue
            if kind == "ident" and nxt == ("punct", "("):
                i += 1  # a function or an aggregation: its parenthesis follows
                continue
            if kind == "ident" and text in AGGREGATIONS:  # "sum by (x) (...)"
                i += 1
                continue
            if kind == "ident" and text not in KEYWORDS:
                self.metric_check(where, text)
                for f in frames:
                    f["metrics"].add(text)
                i += 1
                if i < len(toks) and toks[i] == ("punct", "{"):
                    i = self.matchers_check(where, toks, i, {text})
                continue
            if (kind, text) == ("punct", "{"):  # {__name__="..."} alone
                i = self.matchers_check(where, toks, i, set())
                continue
            if (kind, text) == ("punct", "["):  # a range or subquery: durations only
                while i < len(toks) and toks[i] != ("punct", "]"):
                    i += 1
                i += 1
                continue
            if (kind, text) == ("punct", "("):
                depth += 1
                frames.append({"metrics": set(), "grouping": pending})
                pending = []
            elif (kind, text) == ("punct", ")"):
                depth -= 1
                if depth < 0:
                    self.problem(where, f"unbalanced ')' in {expr!r}")
                    return set()
                frame = frames.pop()
                closed = frame["metrics"]
                self.labels_check(where, frame["grouping"], closed, "by/without")
            i += 1
        if depth != 0:
            self.problem(where, f"unbalanced '(' in {expr!r}")
        self.labels_check(where, matching, frames[0]["metrics"], "on/ignoring/group")
        return frames[0]["metrics"]

    def matchers_check(self, where, toks, i, metrics):
        """Checks the label matchers "{a="x", b=~"y|z"}" at toks[i]: each
        label, and each value written out (not a Grafana variable; for a
        regex, a plain alternation of words) must be in the exposition.
        Returns the index past them."""
        i += 1
        while i < len(toks) and toks[i] != ("punct", "}"):
            if toks[i][0] == "ident" and i + 2 < len(toks) and \
                    toks[i + 1][1] in ("=", "!=", "=~", "!~") and metrics:
                label, op, value = toks[i][1], toks[i + 1][1], toks[i + 2][1]
                self.labels_check(where, [label], metrics, "matcher")
                self.values_check(where, label, op, value, metrics)
            i += 1
        return i + 1

    def values_check(self, where, label, op, value, metrics):
        if label in TARGET_LABELS or label in ("le", "__name__") or "$" in value:
            return
        if op in ("=", "!="):
            values = [value]
        elif re.fullmatch(r"[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*", value):
            values = value.split("|")
        else:
            return
        known = set().union(*(self.families.get(m, {}).get(label, set()) for m in metrics))
        for v in values:
            if v not in known:
                self.problem(where, f'{label}="{v}" is a value of none of {", ".join(sorted(metrics))}')

    # ---- the files ----------------------------------------------------------

    def dashboard_check(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            self.problem(path, f"does not parse as JSON: {e}")
            return 0
        if d.get("schemaVersion") not in SCHEMA_VERSIONS:
            self.problem(path, f"schemaVersion {d.get('schemaVersion')} is not 38 or 39")
        for key in ("title", "uid"):
            if not d.get(key):
                self.problem(path, f"no {key}")
        inputs = [x for x in d.get("__inputs", []) if x.get("name") == "DS_PROMETHEUS"]
        if not inputs or inputs[0].get("pluginId") != "prometheus" or \
                inputs[0].get("type") != "datasource":
            self.problem(path, "no __inputs DS_PROMETHEUS (a prometheus datasource)")
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        for name in ("datasource", "job", "instance"):
            if name not in variables:
                self.problem(path, f"no template variable {name}")
        if variables.get("datasource", {}).get("type") != "datasource":
            self.problem(path, "the variable datasource is not of type datasource")
        for name, v in variables.items():
            if v.get("type") == "query":
                self.variable_check(f"{path}: variable {name}", v)
        for a in d.get("annotations", {}).get("list", []):
            if a.get("expr"):
                self.expr_check(f"{path}: annotation {a.get('name')!r}", a["expr"])
        self.top_level = d.get("panels", [])
        panels = list(self.panels(self.top_level))
        if not panels:
            self.problem(path, "no panels")
        ids = [p.get("id") for p in panels]
        if len(ids) != len(set(ids)) or None in ids:
            self.problem(path, "panel ids are missing or repeated")
        for p in panels:
            self.panel_check(path, p)
        self.layout_check(path)
        return len(panels)

    def layout_check(self, path):
        """Panels lie inside Grafana's 24 columns and none covers another
        (a collapsed row's panels are laid out apart, so only the top level)."""
        cells = {}
        top = [p for p in self.top_level if "gridPos" in p]
        for p in top:
            g = p["gridPos"]
            if g.get("x", 0) + g.get("w", 0) > GRID_COLUMNS or min(g.get(k, -1) for k in "xywh") < 0:
                self.problem(path, f"panel {p.get('title')!r} lies outside the grid: {g}")
                continue
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        self.problem(path, f"panel {p.get('title')!r} covers {cells[(x, y)]!r}")
                        return
                    cells[(x, y)] = p.get("title")

    def panels(self, panels):
        for p in panels:
            yield p
            yield from self.panels(p.get("panels", []))  # a collapsed row's

    def variable_check(self, where, v):
        query = v.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if not isinstance(query, str) or not query:
            self.problem(where, "a query variable without a query")
            return
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", query, re.S)
        if m:
            metrics = self.expr_check(where, m.group(1))
            self.labels_check(where, [m.group(2)], metrics, "label_values()")
        else:
            self.expr_check(where, re.sub(r"^\s*query_result\((.*)\)\s*$", r"\1", query))

    def panel_check(self, path, p):
        where = f"{path}: panel {p.get('title', p.get('id'))!r}"
        if not p.get("title"):
            self.problem(where, "no title")
        if "gridPos" not in p:
            self.problem(where, "no gridPos")
        if p.get("type") in PANEL_TYPES_WITHOUT_QUERIES:
            return
        if not p.get("description"):
            self.problem(where, "no description")
        if not p.get("datasource"):
            self.problem(where, "no datasource")
        targets = p.get("targets") or []
        if not targets:
            self.problem(where, "no targets")
        for t in targets:
            if not t.get("expr") or not t.get("refId"):
                self.problem(where, f"a target without expr or refId: {t}")
                continue
            self.expr_check(where, t["expr"])

    def rules_check(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            self.problem(path, f"does not parse as YAML: {' '.join(str(e).split())}")
            return 0
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not groups:
            self.problem(path, "no groups")
            return 0
        n = 0
        for g in groups:
            if not g.get("name") or not g.get("rules"):
                self.problem(path, f"a group without a name or rules: {g.get('name')}")
                continue
            for r in g["rules"]:
                n += 1
                self.rule_check(f"{path}: {r.get('alert') or r.get('record')}", r)
        return n

    def rule_check(self, where, r):
        if ("alert" in r) == ("record" in r):
            self.problem(where, "a rule is one of alert and record")
        if not isinstance(r.get("expr"), str) or not r["expr"].strip():
            self.problem(where, "no expr")
            return
        metrics = self.expr_check(where, r["expr"])
        if "record" in r:
            return
        if not re.fullmatch(r"([0-9]+(ms|[smhdwy]))+", str(r.get("for", ""))):
            self.problem(where, f"for is no duration: {r.get('for')}")
        if r.get("labels", {}).get("severity") not in SEVERITIES:
            self.problem(where, f"labels.severity is none of {sorted(SEVERITIES)}")
        notes = r.get("annotations", {})
        for key in ("summary", "description"):
            if not notes.get(key):
                self.problem(where, f"no annotations.{key}")
        for text in notes.values():
            self.labels_check(where, re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", text),
                              metrics, "$labels in an annotation")


def main(argv):
    listing = len(argv) > 1 and argv[1] == "--list"
    if listing:
        argv = argv[:1] + argv[2:]
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    families, _ = exposition_read(argv[1])
    if not families:
        print(f"{argv[1]}: no metric families", file=sys.stderr)
        return 1
    c = Checker(families)
    counts = []
    for path in argv[2:]:
        c.file = path
        if path.endswith(".json"):
            counts.append(f"{path}: {c.dashboard_check(path)} panels")
        elif path.endswith((".yml", ".yaml")):
            counts.append(f"{path}: {c.rules_check(path)} rules")
        else:
            c.problem(path, "neither .json (a dashboard) nor .yml (rules)")
    for p in c.problems:
        print(p)
    used = set().union(*c.names.values()) if c.names else set()
    if not c.problems:
        print(f"{'; '.join(counts)}; {c.exprs} expressions name {len(used)} metrics, "
              f"all in {argv[1]} ({len(families)} names)")
    if listing:
        for path in argv[2:]:
            for name in sorted(c.names.get(path, ())):
                print(path, name)
    return 1 if c.problems else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
