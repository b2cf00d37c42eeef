"""Figures: every file is written and valid, for one and several seeds and for a benchmark
without non-English items; the figures say what they cannot show; the notebook runs."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from PIL import Image

from value_retention import figures, scores_csv
from value_retention.errors import ConfigError, DataError
from value_retention.outputs import figure_files

from report_fixtures import CONDITIONS, make_scores, make_stats

REPO = Path(__file__).resolve().parent.parent


def assert_valid_pdf(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), f"{path} is not a PDF"
    assert data.rstrip().endswith(b"%%EOF"), f"{path} is truncated"
    assert len(data) > 1000


def assert_valid_png(path: Path) -> None:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert image.format == "PNG"
    assert 600 < width < 2000 and height > 200, f"{path}: unexpected size {width}x{height}"


@pytest.fixture
def captured_texts(monkeypatch):
    """Every text drawn in each saved figure (titles, labels, notes), keyed by the file stem."""
    texts: dict[str, str] = {}
    real_save = figures.save_figure

    def save_and_capture(fig, out_stem):
        fig.canvas.draw()
        found = [t.get_text() for t in fig.findobj(plt.Text)]
        texts[Path(out_stem).name] = "\n".join(found)
        return real_save(fig, out_stem)

    monkeypatch.setattr(figures, "save_figure", save_and_capture)
    return texts


def checked(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores as the figures rule reads them (scores_csv.read_checked)."""
    return scores_csv.check(scores)[0]


def test_make_all_writes_every_declared_file(tmp_path, captured_texts):
    # AHB with three seeds, MORU with one: both cases of the seed figure in one run
    stats = {"ahb": make_stats("ahb", seeds=3), "moru": make_stats("moru", seeds=1)}
    scores = {"ahb": checked(make_scores("ahb", seeds=3)), "moru": checked(make_scores("moru", seeds=1))}

    written = figures.make_all(stats, scores, tmp_path)

    assert sorted(map(str, written)) == sorted(figure_files(tmp_path, ["ahb", "moru"]))
    for path in written:
        if path.suffix == ".pdf":
            assert_valid_pdf(path)
        elif path.suffix == ".png":
            assert_valid_png(path)
    seed_texts = captured_texts["seed_spread"]
    assert "AHB (3 seeds)" in seed_texts and "MORU (1 seed)" in seed_texts
    assert seed_texts.count("one seed per condition") == 1  # said in the one-seed panel only
    # axes carry units, titles say what is shown, and the conditions keep the stats' order
    for stem in ("condition_scores", "language_groups", "seed_spread", "score_distributions",
                 "dimension_heatmap_ahb"):
        assert "score (%)" in captured_texts[stem]
    assert "95% CI" in captured_texts["condition_scores"]
    order = [captured_texts["condition_scores"].index(f"\n{c}\n") for c in CONDITIONS]
    assert order == sorted(order)
    fragment = (tmp_path / "dimension_heatmaps.tex").read_text()
    assert "dimension_heatmap_ahb.pdf" in fragment and "dimension_heatmap_moru.pdf" in fragment


def test_benchmark_without_non_english_items(tmp_path, captured_texts):
    stats = {"en": make_stats("en", non_english=False)}
    scores = {"en": checked(make_scores("en", non_english=False))}

    written = figures.make_all(stats, scores, tmp_path)

    assert sorted(map(str, written)) == sorted(figure_files(tmp_path, ["en"]))
    assert all(path.stat().st_size > 0 for path in written)
    assert "no Non-English items" in captured_texts["language_groups"]
    assert "English" in captured_texts["language_groups"]  # the English series is still drawn


def test_heatmap_marks_missing_cells_and_handles_no_dimensions(tmp_path, captured_texts):
    stats = make_stats("ahb")
    stats["dimensions"][0]["mean"] = None
    figures.plot_dimension_heatmap(stats, tmp_path / "heat")
    assert "n/a" in captured_texts["heat"]
    assert "Scope_Sensitivity & 100% care" in captured_texts["heat"]

    stats["dimensions"] = []
    paths = figures.plot_dimension_heatmap(stats, tmp_path / "empty")
    assert "no per-dimension results" in captured_texts["empty"]
    assert_valid_pdf(paths[0])


def test_figures_are_reproducible(tmp_path):
    stats = {"ahb": make_stats("ahb", seeds=2)}
    first = figures.plot_condition_scores(stats, tmp_path / "a")
    second = figures.plot_condition_scores(stats, tmp_path / "b")
    assert first[0].read_bytes() == second[0].read_bytes()  # no timestamps in the PDF
    assert first[1].read_bytes() == second[1].read_bytes()


def test_question_scores_average_epochs_then_seeds():
    rows = []
    # condition c, question q: seed 0 epochs (0.2, 0.4) -> 0.3; seed 1 epochs (0.5, 0.7) -> 0.6; mean 0.45
    for seed, epoch, score in [(0, 0, 0.2), (0, 1, 0.4), (1, 0, 0.5), (1, 1, 0.7)]:
        rows.append({"bench": "b", "condition": "c", "seed": seed, "question_id": "q", "base_item": "q",
                     "language": "English", "epoch": epoch, "judge": "panel", "dimension": "overall", "score": score})
    # rows that must not count: another dimension, another judge
    rows.append({**rows[0], "dimension": "Moral Consideration", "score": 1.0})
    rows.append({**rows[0], "judge": "judge_a", "score": 1.0})
    result = figures.question_scores(checked(pd.DataFrame(rows)))
    assert len(result) == 1
    assert result["score"].iloc[0] == pytest.approx(45.0)


def test_checked_scores_name_file_and_row(tmp_path):
    frame = make_scores("ahb", n_items=1).assign(question_id="007")
    good = tmp_path / "good.csv"
    frame.to_csv(good, index=False)
    assert scores_csv.read_checked(good)["question_id"].iloc[0] == "007"  # ids stay strings
    with pytest.raises(DataError, match=r"good\.csv, row 2: row of another benchmark"):
        scores_csv.read_checked(good, "moru")

    missing = tmp_path / "missing.csv"
    frame.drop(columns=["judge"]).to_csv(missing, index=False)
    with pytest.raises(DataError, match=r"missing\.csv.*judge"):
        scores_csv.read_checked(missing)

    bad = tmp_path / "bad.csv"
    frame.loc[3, "score"] = 1.5
    frame.to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"bad\.csv, row 5"):
        scores_csv.read_checked(bad)


class NamedList(list):
    """Enough of snakemake's Namedlist: a list whose items also have names (a named list's items
    are items of the container too, as Snakemake fills a rule's files)."""

    def __init__(self, items=(), **named):
        super().__init__(items or [item for value in named.values()
                                   for item in (value if isinstance(value, list) else [value])])
        self.__dict__.update(named)
        self._names = named

    def items(self):
        return self._names.items()

    def get(self, key, default=None):
        return self._names.get(key, default)


def fake_snakemake(rule, input, output, params):
    from types import SimpleNamespace

    return SimpleNamespace(rule=rule, input=input, output=output, params=NamedList(**params),
                           wildcards=NamedList(), config={})


def test_figures_script_checks_outputs_and_writes_sidecars(tmp_path):
    stats_paths, score_paths = [], []
    for bench in ("ahb",):
        stats_path, score_path = tmp_path / f"{bench}.json", tmp_path / f"{bench}.csv"
        stats_path.write_text(json.dumps(make_stats(bench)))
        make_scores(bench).to_csv(score_path, index=False)
        stats_paths.append(str(stats_path))
        score_paths.append(str(score_path))
    outputs = figure_files(str(tmp_path / "figures"), ["ahb"])
    snakemake = fake_snakemake("figures", NamedList(stats=stats_paths, scores=score_paths), NamedList(outputs),
                               {"benches": ["ahb"]})

    runpy.run_path(str(REPO / "scripts" / "figures.py"), init_globals={"snakemake": snakemake})

    for path in outputs:
        sidecar = json.loads(Path(path + ".prov.json").read_text())
        assert sidecar["rule"] == "figures"
        assert {item["path"] for item in sidecar["inputs"]} == {*stats_paths, *score_paths}

    # a rule that forgets an output is told which, before anything is drawn
    snakemake.output = NamedList(outputs[:-1])
    with pytest.raises(ConfigError, match="dimension_heatmaps.tex"):
        runpy.run_path(str(REPO / "scripts" / "figures.py"), init_globals={"snakemake": snakemake})


def execute_notebook(cwd: Path, first_cell: str | None = None):
    """Run notebooks/explore_scores.ipynb in a fresh kernel started in ``cwd``; returns the executed
    notebook. ``first_cell`` is put before the notebook's own cells (as Snakemake's preamble is)."""
    import nbclient
    import nbformat
    notebook = nbformat.read(REPO / "notebooks" / "explore_scores.ipynb", as_version=4)
    if first_cell:
        notebook.cells.insert(0, nbformat.v4.new_code_cell(first_cell))
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def notebook_outputs(notebook) -> tuple[str, int]:
    """The notebook's text outputs, and how many images (rendered plots) it shows."""
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    images = sum("image/png" in output.get("data", {}) for output in outputs)
    return "\n".join(str(output) for output in outputs), images


def test_exploration_notebook_runs_under_snakemake(tmp_path):
    stats_path, score_path = tmp_path / "ahb.json", tmp_path / "ahb.csv"
    stats_path.write_text(json.dumps(make_stats("ahb")))
    make_scores("ahb").to_csv(score_path, index=False)
    # what Snakemake's notebook directive injects, reduced to the fields the notebook reads
    notebook = execute_notebook(tmp_path, (
        "from types import SimpleNamespace\n"
        f"snakemake = SimpleNamespace(input=SimpleNamespace(scores=[{str(score_path)!r}], stats={str(stats_path)!r}),\n"
        f"                            output=[{str(tmp_path / 'out' / 'language_means.csv')!r}])"))

    text, images = notebook_outputs(notebook)
    assert "sft_magicoder" in text and "2 warning(s)" in text
    assert images == 1  # the box plot rendered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ahb.csv", "ahb.json", "out"]  # nothing else written
    means = pd.read_csv(tmp_path / "out" / "language_means.csv")
    assert list(means.columns[:2]) == ["bench", "condition"] and {"English", "Hindi", "Malay"} <= set(means.columns)
    assert list(means["condition"]) == CONDITIONS


@pytest.mark.parametrize("start", [".", "notebooks"])  # a shell at the root; Jupyter, in the notebook's folder
def test_exploration_notebook_runs_by_hand_from_the_repository(tmp_path, start):
    """Opened by hand, the notebook explores the tiny default's run: its scores and statistics,
    not the provenance sidecars beside them, and its plot renders."""
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    (tmp_path / "notebooks").mkdir()
    for bench in ("ahb", "moru"):
        stats_path = tmp_path / "results" / "stats" / f"{bench}.json"
        score_path = tmp_path / "results" / "scores" / f"{bench}.csv"
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        score_path.parent.mkdir(parents=True, exist_ok=True)
        stats_path.write_text(json.dumps(make_stats(bench)))
        make_scores(bench).to_csv(score_path, index=False)
        for path in (stats_path, score_path):  # as every run leaves them
            Path(f"{path}.prov.json").write_text(json.dumps({"rule": "statistics", "inputs": []}))
    before = sorted(tmp_path.rglob("*"))

    text, images = notebook_outputs(execute_notebook(tmp_path / start))

    assert "'ahb', 'moru'" in text and "sft_magicoder" in text
    assert images == 1
    assert sorted(tmp_path.rglob("*")) == before  # by hand, it writes nothing


def test_exploration_notebook_says_what_to_run_when_there_is_no_run_yet(tmp_path):
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    import nbclient

    missing = r"results/scores/ahb\.csv.*run the workflow first"
    with pytest.raises(nbclient.exceptions.CellExecutionError, match=missing):
        execute_notebook(tmp_path)
