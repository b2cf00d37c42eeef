"""The ``value-retention`` command: the library's stages as subcommands.

    value-retention check-config config/config.yaml
    value-retention check-config config/paper.yaml over.yaml --config 'seeds=[0,1,2]'
    value-retention config-docs > config/README.md
    value-retention plan --config config/paper.yaml
    value-retention recipe-table config/paper.yaml > docs/recipe.md
    value-retention score --benchmark ahb --questions Q.jsonl --dimensions D.jsonl \\
        --judgments J.jsonl [J.jsonl ...] --out S.json [--scorer-version paper_era]
    value-retention audit AhbAllSftDollyMean
    value-retention audit results/tables/table_headline.tex --cell 2,3

Each subcommand is a thin layer over a library function, so the workflow's rules and a user at
the shell run the same code.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
from pathlib import Path

from .errors import ValueRetentionError


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import condition_order, lineage, load_config

    config = load_config(*args.config, overrides=args.overrides or ())
    print(f"{' + '.join(args.config)}{' + --config' if args.overrides else ''}: valid")
    for condition in condition_order(config):
        print("  " + " -> ".join(lineage(config, condition)))
    return 0


def cmd_config_docs(args: argparse.Namespace) -> int:
    from .config_docs import render

    sys.stdout.write(render())
    return 0


def cmd_recipe_table(args: argparse.Namespace) -> int:
    from .recipe_table import render

    sys.stdout.write(render(args.config))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .config import load_config
    from .plan import format_plan, measured, plan, with_measured

    config = load_config(args.config)
    rows = plan(config, profile=args.profile)
    if args.benchmarks:
        rows = with_measured(rows, measured(config, args.benchmarks))
    print(format_plan(rows))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .scoring import score_files

    result = score_files(args.benchmark, args.questions, args.dimensions, args.judgments, args.out,
                         scorer_version=args.scorer_version)
    summary = {key: result[key] for key in ("scorer_version", "overall_mean", "n_questions_scored",
                                            "n_questions_unscored", "n_grades_unparseable")}
    print(json.dumps(summary))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from .provenance import audit_chain, sidecar_path

    root = Path(args.root)
    if args.cell:
        # A table cell: the table's own chain (its statistics, scores, judgments, ...).
        print(_table_cell(root / args.name, args.cell))
        chain = audit_chain(args.name, root=root)
    else:
        numbers = root / args.numbers
        macros = json.loads(sidecar_path(numbers).read_text(encoding="utf-8")).get("macros", {})
        name = args.name.lstrip("\\")
        if name not in macros:
            close = [m for m in macros if name.lower() in m.lower()][:10]
            raise ValueRetentionError(f"no macro '{name}' in {args.numbers}"
                                      + (f"; similar: {', '.join(close)}" if close else ""))
        _check_macro_value(numbers, name, macros[name]["value"])
        # numbers.tex itself, then only the chains behind this macro's sources.
        chain = audit_chain(args.numbers, root=root, max_depth=0)
        seen: set[str] = set()
        for source in _macro_sources(name, macros):
            chain += audit_chain(source, root=root, depth=1, _seen=seen)
    for entry in chain:
        print(_describe(entry))
    print(f"audit ok: {len(chain)} files, every hash matches its provenance record")
    return 0


def _macro_sources(name: str, macros: dict, depth: int = 0) -> list[str]:
    """Print where a macro's value comes from; return the result files behind it.

    A macro reads a statistics file at a key, or the config (published references, the title),
    or is a sentence built from other macros (``uses``), which are followed in turn.
    """
    macro = macros[name]
    indent = "  " * depth
    if macro.get("source") == "config":
        print(f"{indent}\\{name} = {macro['value']}  from the config at key '{macro['key']}' "
              "(its hash is in numbers.tex's provenance)")
        return []
    if macro.get("source"):
        print(f"{indent}\\{name} = {macro['value']}  from {macro['source']} at key '{macro['key']}'")
        return [macro["source"]]
    print(f"{indent}\\{name} = {str(macro['value'])[:120]}  built from {', '.join(macro.get('uses', []))}")
    return [source for used in macro.get("uses", []) if used in macros
            for source in _macro_sources(used, macros, depth + 1)]


def _describe(entry: dict) -> str:
    indent = "  " * entry["depth"]
    if entry["rule"] is None:
        return f"{indent}{entry['path']}  sha256 {entry['sha256'][:16]}  (source file, no sidecar)"
    commit = (entry.get("commit") or "unknown")[:10] + ("+dirty" if entry.get("dirty") else "")
    lines = [f"{indent}{entry['path']}  sha256 {entry['sha256'][:16]}  rule {entry['rule']}  "
             f"code {commit}  at {entry.get('ended')}"]
    for key, value in entry.get("facts", {}).items():
        lines.append(f"{indent}    {key}: {json.dumps(value, sort_keys=True, default=str)[:160]}")
    return "\n".join(lines)


def _check_macro_value(numbers: Path, name: str, value: str) -> None:
    text = numbers.read_text(encoding="utf-8")
    match = re.search(r"\\newcommand\{\\" + re.escape(name) + r"\}\{(.*)\}", text)
    if match is None or match.group(1) != value:
        raise ValueRetentionError(f"{numbers}: \\{name} is not '{value}' as its provenance records")


def _table_cell(path: Path, cell: str) -> str:
    row, col = (int(part) for part in cell.split(","))
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.rstrip().endswith("\\\\")]
    cells = [c.strip() for c in rows[row - 1].rstrip("\\ ").split("&")]
    return f"{path} row {row} column {col}: {cells[col - 1]}"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in its help (options without one, required or optional, say so by
    saying nothing); descriptions keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def package_version() -> str:
    try:
        return importlib.metadata.version("value-retention")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing it
        from . import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    from .scorer_versions import SCORER_VERSIONS

    parser = argparse.ArgumentParser(prog="value-retention", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, func) -> argparse.ArgumentParser:
        subparser = sub.add_parser(name, help=summary, description=summary, formatter_class=HelpFormatter)
        subparser.set_defaults(func=func)
        return subparser

    recipe = command("recipe-table", "the config's training recipe as a Markdown table of values, sources and "
                     "tags (docs/recipe.md)", cmd_recipe_table)
    recipe.add_argument("config", nargs="?", default="config/paper.yaml", help="the config whose recipe to list")

    command("config-docs", "every config key's type, default and meaning, from config/schema.yaml, as Markdown "
            "(config/README.md)", cmd_config_docs)

    check = command("check-config", "validate a config, as the workflow will, and print the condition tree",
                    cmd_check_config)
    check.add_argument("config", nargs="+", metavar="CONFIG",
                       help="config files (YAML), merged in order as `snakemake --configfile A B` merges them: a "
                            "full config first, e.g. config/paper.yaml, then any overlays")
    check.add_argument("--config", dest="overrides", nargs="+", metavar="KEY=VALUE",
                       help="overrides, as `snakemake --config` takes them: seeds=[0,1,2] "
                            "'generation={epochs: 3}'")

    plan = command("plan", "jobs, GPUs and estimated GPU-hours per rule, before submitting", cmd_plan)
    plan.add_argument("--config", default="config/paper.yaml", help="the config to plan")
    plan.add_argument("--profile", default="slurm/profile.yaml",
                      help="the SLURM profile, for each rule's GPU type")
    plan.add_argument("--benchmarks", metavar="DIR",
                      help="a run's benchmarks folder (<results_dir>/benchmarks): print the jobs' measured "
                           "runtime and memory beside the estimates")

    score = command("score", "score judgments exactly as the reference implementation", cmd_score)
    score.add_argument("--benchmark", choices=["ahb", "moru"], required=True,
                       help="the benchmark's format, which decides the scoring rules")
    score.add_argument("--questions", required=True, help="questions JSONL (raw Hugging Face schema or prepared)")
    score.add_argument("--dimensions", required=True, help="dimensions JSONL (raw or prepared)")
    score.add_argument("--judgments", nargs="+", required=True, metavar="JSONL",
                       help="judgments JSONL, one file per panel judge (their grades are averaged)")
    score.add_argument("--out", required=True, help="where to write the score JSON")
    score.add_argument("--scorer-version", choices=list(SCORER_VERSIONS), default=None,
                       help="the reference whose unparseable-grade rule applies (default: the version the "
                            "judgment rows name, else current); see value_retention/scorer_versions.py")

    audit = command("audit", "print the provenance chain behind a number in the paper", cmd_audit)
    audit.add_argument("name", help="a macro name from numbers.tex, or a generated table file")
    audit.add_argument("--cell", metavar="ROW,COL", help="a table cell (1-based), with a table file")
    audit.add_argument("--numbers", default="results/paper/numbers.tex",
                       help="the run's number macros (<results_dir>/paper/numbers.tex)")
    audit.add_argument("--root", default=".", help="the workflow's working directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueRetentionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # AuditError and friends: one clear line, not a traceback
        from .provenance import AuditError
        if isinstance(exc, AuditError):
            print(f"audit failed: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
