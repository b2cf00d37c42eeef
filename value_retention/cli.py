"""The ``value-retention`` command: the library's stages as subcommands.

    value-retention check-config config/config.yaml
    value-retention check-config config/paper.yaml over.yaml --config 'seeds=[0,1,2]'
    value-retention config-docs > config/README.md
    value-retention plan --config config/paper.yaml
    value-retention recipe-table config/paper.yaml > docs/recipe.md
    value-retention score --benchmark ahb --questions Q.jsonl --dimensions D.jsonl \\
        --judgments J.jsonl [J.jsonl ...] --out S.json [--scorer-version paper_era] [--allow-missing]
    value-retention audit AhbAllSftDollyMean
    value-retention audit results/tables/table_headline.tex --cell 2,3
    value-retention audit AhbAllSftDollyMean --numbers results-paper/paper/numbers.tex --config config/paper.yaml
    value-retention cache resources/judge_cache [--purge] [--purge-old-schemes]
    value-retention rehearse [--workdir DIR] [SNAKEMAKE ARGUMENTS ...]
    value-retention pin --config config/paper.yaml --resources resources-paper --out pinned.yaml

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

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "config.yaml"


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import condition_order, lineage, load_config, preflight

    config = load_config(*args.config, overrides=args.overrides or ())
    print(f"{' + '.join(args.config)}{' + --config' if args.overrides else ''}: valid")
    for condition in condition_order(config):
        print("  " + " -> ".join(lineage(config, condition)))
    # What this machine lacks is a warning here (the workflow may run elsewhere, or with these
    # jobs done); Snakemake makes it an error before the first job that needs it.
    for problem in preflight(config):
        print(f"warning: {problem}")
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
                         scorer_version=args.scorer_version, allow_missing=args.allow_missing)
    summary = {key: result[key] for key in ("scorer_version", "overall_mean", "n_questions_scored",
                                            "n_questions_unscored", "n_grades_unparseable", "n_judgments_missing")}
    print(json.dumps(summary))
    if result["n_judgments_missing"]:
        print(f"warning: {result['n_judgments_missing']} expected judgments are missing; scored what there is "
              f"(listed under missing_judgments in {args.out})", file=sys.stderr)
    return 0


def cmd_rehearse(args: argparse.Namespace) -> int:
    from .rehearsal.run import rehearse

    passed_on = args.snakemake_args[1:] if args.snakemake_args[:1] == ["--"] else args.snakemake_args
    return rehearse(args.workdir, passed_on, snapshot=args.snapshot, cores=args.cores).returncode


def cmd_pin(args: argparse.Namespace) -> int:
    from .jsonl import atomic_path
    from .pinning import pin

    text, pinned = pin(args.config, args.resources)
    with atomic_path(Path(args.out)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    for source in pinned:
        print(f"{source.section}.{source.name}.{source.key}: {source.origin} {source.requested} -> {source.commit}")
    print(f"{args.out}: {len(pinned)} revisions pinned to the commits downloaded")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from .config import local_paths
    from .provenance import audit_chain, sidecar_path

    root = Path(args.root)
    config = _audit_config(args.config)
    sources = list(local_paths(config).values())
    if args.cell:
        # A table cell: the table's own chain (its statistics, scores, judgments, ...).
        print(_table_cell(root / args.name, args.cell))
        chain = audit_chain(args.name, root=root, sources=sources)
    else:
        numbers = root / args.numbers
        if not sidecar_path(numbers).is_file():
            raise ValueRetentionError(f"no provenance record {sidecar_path(numbers)}: is {args.numbers} the run's "
                                      "numbers file? (--numbers, --root)")
        macros = json.loads(sidecar_path(numbers).read_text(encoding="utf-8")).get("macros", {})
        name = args.name.lstrip("\\")
        if name not in macros:
            close = [m for m in macros if name.lower() in m.lower()][:10]
            raise ValueRetentionError(f"no macro '{name}' in {args.numbers}"
                                      + (f"; similar: {', '.join(close)}" if close else ""))
        _check_macro_value(numbers, name, macros[name]["value"])
        # numbers.tex itself, then only the chains behind this macro's sources.
        chain = audit_chain(args.numbers, root=root, max_depth=0, sources=sources)
        seen: set[str] = set()
        for source in _macro_sources(name, macros):
            chain += audit_chain(source, root=root, depth=1, sources=sources, _seen=seen)
    config_name = " + ".join(args.config)
    for entry in chain:
        _check_config_params(root / entry["path"], config, config_name)
        print(_describe(entry))
    print(f"audit ok: {len(chain)} files, every hash matches its provenance record, and every value taken "
          f"from the config matches {config_name}")
    return 0


# Params that copy a block of the config: an audit compares them with the config in use.
CONFIG_PARAMS = ("references", "paper", "panel")


def _audit_config(paths: list[str]) -> dict:
    """The config as the run saw it: merged, validated, with the schema's defaults (``config.load_config``)."""
    from .config import load_config

    return load_config(*paths)  # a missing file is its ConfigError, naming the file


def _check_config_params(path: Path, config: dict, config_path: str) -> None:
    """A result made from config values (published references, the title, the panel) must have
    been made from the config in use: the values in its provenance record are compared."""
    from .provenance import AuditError, sidecar_path

    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return
    params = json.loads(sidecar.read_text(encoding="utf-8")).get("params", {})
    for block in CONFIG_PARAMS:
        if block in params:
            difference = _first_difference(params[block], config.get(block), block)
            if difference is not None:
                key, recorded, current = difference
                raise AuditError(f"{path}: was made with config key '{key}' = {recorded!r}, but {config_path} "
                                 f"says {current!r}; re-run the workflow with this config, or audit with the "
                                 "config the run used (--config)")


def _first_difference(recorded, current, key: str):
    """The first (key, recorded, current) where two config values differ, or None."""
    if isinstance(recorded, dict) and isinstance(current, dict):
        for name in dict.fromkeys([*recorded, *current]):
            difference = _first_difference(recorded.get(name), current.get(name), f"{key}.{name}")
            if difference is not None:
                return difference
        return None
    if recorded in ({}, None) and current in ({}, None):
        return None
    return None if recorded == current else (key, recorded, current)


def cmd_cache(args: argparse.Namespace) -> int:
    from .judges.cache import ResponseCache

    try:
        cache = ResponseCache(args.cache_dir, create=False)
    except FileNotFoundError as exc:
        raise ValueRetentionError(str(exc)) from None
    try:
        report = cache.report()
        print(f"{report['path']}: {report['entries']} responses (key scheme {report['key_scheme']})")
        for model, count in sorted(report["by_model"].items()):
            print(f"  {model}: {count}")
        print(f"  malformed (empty or null; never read as answers): {report['malformed']}")
        print(f"  of older key schemes (never read): {report['old_schemes']}")
        if args.purge or args.purge_old_schemes:
            removed = cache.purge(malformed=args.purge, old_schemes=args.purge_old_schemes)
            print(f"removed {removed['malformed']} malformed and {removed['old_schemes']} older-scheme responses")
            report = cache.report()
    finally:
        cache.close()
    if report["malformed"]:
        print(f"error: {report['malformed']} malformed responses; --purge removes them", file=sys.stderr)
        return 1
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
    """The text of a LaTeX table's cell ``ROW,COL``, 1-based: the header is row 1, and rows that
    span the whole table (a benchmark's label, ``\\multicolumn``) are not rows of cells. A one-line
    error for a malformed cell, a missing file or a cell outside the table."""
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", cell)
    if match is None or 0 in (int(match.group(1)), int(match.group(2))):
        raise ValueRetentionError(f"--cell {cell!r}: expected ROW,COL, two numbers from 1, e.g. --cell 2,3")
    row, col = int(match.group(1)), int(match.group(2))
    if not path.is_file():
        raise ValueRetentionError(f"{path}: no such table (--cell takes a generated .tex table, e.g. "
                                  "results/tables/table_headline.tex)")
    rows = [[cell.strip() for cell in line.rstrip().removesuffix("\\\\").split("&")]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.rstrip().endswith("\\\\") and not line.lstrip().startswith("\\multicolumn")]
    if not rows:
        raise ValueRetentionError(f"{path}: no table rows (lines ending in \\\\) to take --cell {cell} from")
    if row > len(rows):
        raise ValueRetentionError(f"{path}: --cell {cell}: the table has {len(rows)} rows (the header is row 1)")
    if col > len(rows[row - 1]):
        raise ValueRetentionError(f"{path}: --cell {cell}: row {row} has {len(rows[row - 1])} columns")
    header = rows[0][col - 1] if col <= len(rows[0]) else "?"
    return f"{path} row {row} ({rows[row - 1][0]}) column {col} ({header}): {rows[row - 1][col - 1]}"


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
    score.add_argument("--allow-missing", action="store_true",
                       help="score even when judgments are missing (every question x tagged dimension x epoch x "
                            "judge should have one), and count them; without it, missing judgments are an error")

    rehearse = command("rehearse", "run the rehearsal world (config/rehearsal.yaml) with its local hub and judge "
                       "server", cmd_rehearse)
    rehearse.add_argument("--workdir", default=".", help="the workflow's working directory")
    rehearse.add_argument("--snapshot",
                          help="the local hub snapshot (default: <workdir>/.rehearsal-hub, made if absent)")
    rehearse.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    rehearse.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="passed on to snakemake")

    pin = command("pin", "write the config with every hub revision replaced by the commit the download "
                  "rules recorded, so the run can be repeated exactly", cmd_pin)
    pin.add_argument("--config", required=True, help="the config whose downloads ran")
    pin.add_argument("--resources", help="its resources_dir (default: the config's)")
    pin.add_argument("--out", required=True, help="where to write the pinned config")

    audit = command("audit", "print the provenance chain behind a number in the paper", cmd_audit)
    audit.add_argument("name", help="a macro name from numbers.tex, or a generated table file")
    audit.add_argument("--cell", metavar="ROW,COL",
                       help="a table cell, with a table file: 1-based, the header is row 1, rows that span the "
                            "table (benchmark labels) are not counted")
    audit.add_argument("--numbers", default="results/paper/numbers.tex",
                       help="the run's number macros (<results_dir>/paper/numbers.tex)")
    audit.add_argument("--root", default=".", help="the workflow's working directory")
    audit.add_argument("--config", nargs="+", default=[str(DEFAULT_CONFIG)], metavar="CONFIG",
                       help="the config file(s) the run used, merged in order as `--configfile A B` merges them "
                            "(the repository's tiny default unless --configfile named others): values taken "
                            "from them are checked against them")

    cache = command("cache", "check a judge response cache for malformed answers, and purge them", cmd_cache)
    cache.add_argument("cache_dir", metavar="CACHE_DIR",
                       help="the cache folder (<resources_dir>/judge_cache), holding responses.sqlite")
    cache.add_argument("--purge", action="store_true",
                       help="delete the malformed responses (empty or null answers written by older versions)")
    cache.add_argument("--purge-old-schemes", action="store_true",
                       help="delete the responses stored under older key schemes, which are never read")
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
