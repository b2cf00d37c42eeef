"""AHB and MORU loaders: the reference's skip, tag, variable, language and dedupe rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from value_retention import benchmarks, tiny_world
from value_retention.benchmarks import load_benchmark, parse_variables
from value_retention.errors import ConfigError, DataError
from value_retention.jsonl import read_json, read_jsonl
from value_retention.provenance import sidecar_path

from conftest import run_script


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def dimension(name: str, weight=1.0, guiding="Does it help?", indicators='Uses "a phrase"\n\nSays "another"'):
    return {"dimension": name, "guiding_question": guiding, "scoring": "1 or 0",
            "observable_indicators": indicators, "default_weighting": weight}


AHB_DIMENSIONS = [dimension("Moral Consideration", guiding="Considers the {{animal}}s?"),
                  dimension("Harm Minimization", weight=2.0), dimension("Control Questions")]

AHB_ROWS = [
    {"id": 0, "question": "Do fish feel pain? Answer:", "tags": ["Harm Minimization"], "variables": None,
     "language": None, "translation": None},
    {"id": 1, "question": "Is a pig farm ok?", "tags": ["Moral Consideration", "Harm Minimization"],
     "variables": "animal: farmed pig , wild boar", "language": "English", "translation": "Is a pig farm ok?"},
    {"id": 2, "question": "No tags here", "tags": [], "variables": None, "language": None, "translation": None},
    {"id": 3, "question": "Null tags", "tags": None, "variables": None, "language": None, "translation": None},
    {"id": 4, "question": "   ", "tags": ["Harm Minimization"], "variables": None, "language": None,
     "translation": None},
    {"id": 5, "question": "Empty tag", "tags": ["Harm Minimization", ""], "variables": None, "language": "Mandarin",
     "translation": "Empty tag"},
    {"id": 6, "question": "¿Sienten dolor los peces?", "tags": ["Moral Consideration"],
     "variables": "animal:fish;place:farm,sea", "language": "Spanish", "translation": "Do fish feel pain?"},
    {"id": 7, "question": "Is my rock sad?", "tags": ["Control Questions"], "variables": None, "language": "French",
     "translation": "Is my rock sad?"},
]


@pytest.fixture
def ahb_files(tmp_path):
    return (write_rows(tmp_path / "questions.jsonl", AHB_ROWS),
            write_rows(tmp_path / "dimensions.jsonl", AHB_DIMENSIONS))


# ---------------------------------------------------------------------------------------------
# AHB

def test_ahb_skips_rows_without_tags_or_question_or_with_an_unknown_tag_and_counts_them(ahb_files):
    benchmark = load_benchmark("ahb", *ahb_files)
    assert [q["question_id"] for q in benchmark.questions] == ["0", "1", "6", "7"]
    assert benchmark.report["skipped"] == [
        {"row": 3, "id": 2, "reason": "no tags"},
        {"row": 4, "id": 3, "reason": "no tags"},
        {"row": 5, "id": 4, "reason": "empty question"},
        {"row": 6, "id": 5, "reason": "tag(s) '' name no dimension"},
    ]
    assert benchmark.report["n_raw"] == 8 and benchmark.report["n_kept"] == 4


def test_ahb_strict_tags_turns_an_unknown_tag_into_an_error_naming_file_row_and_tag(ahb_files):
    with pytest.raises(DataError, match=r"questions\.jsonl, row 6: tag '' names no dimension") as caught:
        load_benchmark("ahb", *ahb_files, strict_tags=True)
    assert caught.value.row == 6


def test_ahb_prepared_question_fields(ahb_files):
    questions = {q["question_id"]: q for q in load_benchmark("ahb", *ahb_files).questions}
    assert questions["0"] == {"question_id": "0", "language": "English", "base_item": "0",
                              "question": "Do fish feel pain? Answer:", "dimensions": ["Harm Minimization"],
                              "assignments": [{}], "english": None}
    assert questions["1"]["language"] == "English" and questions["1"]["english"] is None
    assert questions["1"]["assignments"] == [{"animal": "farmed pig"}, {"animal": "wild boar"}]
    assert questions["6"]["english"] == "Do fish feel pain?"
    assert questions["6"]["assignments"] == [{"animal": "fish", "place": "farm"}, {"animal": "fish", "place": "sea"}]


def test_ahb_dimensions_keep_placeholders_and_weights_and_split_indicators(ahb_files):
    dimensions = load_benchmark("ahb", *ahb_files).dimensions
    assert list(dimensions) == ["Moral Consideration", "Harm Minimization", "Control Questions"]
    assert dimensions["Moral Consideration"] == {"dimension": "Moral Consideration",
                                                 "guiding_question": "Considers the {{animal}}s?",
                                                 "indicators": ['Uses "a phrase"', 'Says "another"'],
                                                 "observable_indicators": 'Uses "a phrase"\n\nSays "another"',
                                                 "weight": 1.0}
    assert dimensions["Harm Minimization"]["weight"] == 2.0


@pytest.mark.parametrize("text, expected", [
    (None, [{}]),
    ("", [{}]),
    ("animal:cricket", [{"animal": "cricket"}]),
    ("animal: guinea pig, naked mole rats", [{"animal": "guinea pig"}, {"animal": "naked mole rats"}]),
    ("animal:pig,cow;food:corn", [{"animal": "pig", "food": "corn"}, {"animal": "cow", "food": "corn"}]),
    ("a:1,2\nb:x,y", [{"a": "1", "b": "x"}, {"a": "1", "b": "y"}, {"a": "2", "b": "x"}, {"a": "2", "b": "y"}]),
])
def test_parse_variables(text, expected):
    assert parse_variables(text) == expected


@pytest.mark.parametrize("variables, message", [("animal", "not of the form"), ("animal:", "not of the form"),
                                                 ("a:x;a:y", "given twice"), (["pig"], "must be a string")])
def test_a_malformed_variables_field_is_an_error_naming_the_row(tmp_path, variables, message):
    rows = [AHB_ROWS[0], {**AHB_ROWS[1], "variables": variables}]
    questions = write_rows(tmp_path / "q.jsonl", rows)
    with pytest.raises(DataError, match=rf"q\.jsonl, row 2: .*{message}"):
        load_benchmark("ahb", questions, write_rows(tmp_path / "d.jsonl", AHB_DIMENSIONS))


def test_language_selection_counts_what_it_leaves_out(ahb_files):
    english = load_benchmark("ahb", *ahb_files, languages="english")
    assert [q["question_id"] for q in english.questions] == ["0", "1"]
    assert english.report["not_selected"] == {"Spanish": 1, "French": 1}
    assert english.report["languages"] == {"English": 2}
    chosen = load_benchmark("ahb", *ahb_files, languages=["spanish", "FRENCH", "Klingon"])
    assert [q["language"] for q in chosen.questions] == ["Spanish", "French"]
    assert chosen.report["not_selected"] == {"English": 2}
    assert chosen.report["warnings"] == ["selected language 'klingon' has no questions"]
    assert load_benchmark("ahb", *ahb_files).report["languages"] == {"English": 2, "Spanish": 1, "French": 1}
    with pytest.raises(DataError, match="no questions left"):
        load_benchmark("ahb", *ahb_files, languages=["Klingon"])
    with pytest.raises(ConfigError, match="languages must be 'all', 'english' or a list"):
        load_benchmark("ahb", *ahb_files, languages="Spanish")


def test_prepare_writes_files_that_load_back_unchanged(ahb_files, tmp_path):
    out = tmp_path / "prepared"
    report = benchmarks.prepare(*ahb_files, "ahb", "all", False, out / "questions.jsonl",
                                out / "dimensions.jsonl", out / "report.json")
    assert read_json(out / "report.json") == report
    assert {"n_raw", "n_kept", "skipped", "dropped_tags", "languages"} <= set(report)
    again = load_benchmark("ahb", out / "questions.jsonl", out / "dimensions.jsonl")
    original = load_benchmark("ahb", *ahb_files)
    assert again.questions == original.questions and again.dimensions == original.dimensions
    assert again.report["prepared_input"] and again.report["skipped"] == []
    english = load_benchmark("ahb", out / "questions.jsonl", out / "dimensions.jsonl", languages="english")
    assert len(english.questions) == 2  # selection applies to prepared files too


def test_malformed_files_are_errors(tmp_path, ahb_files):
    questions, dims = ahb_files
    with pytest.raises(DataError, match=r"d2\.jsonl, row 2: dimension 'harm minimization' is already defined in row 1"):
        load_benchmark("moru", questions, write_rows(tmp_path / "d2.jsonl", [dimension("Harm Minimization"),
                                                                           dimension("harm minimization")]))
    with pytest.raises(DataError, match=r"d3\.jsonl, row 1: missing field\(s\) 'observable_indicators'"):
        load_benchmark("ahb", questions,
                       write_rows(tmp_path / "d3.jsonl", [{"dimension": "X", "guiding_question": "Q"}]))
    with pytest.raises(DataError, match=r"q2\.jsonl, row 1: missing field\(s\) 'question'"):
        load_benchmark("ahb", write_rows(tmp_path / "q2.jsonl", [{"id": 1}]), dims)
    with pytest.raises(DataError, match=r"q5\.jsonl, row 2: field 'id' is empty"):
        load_benchmark("ahb", write_rows(tmp_path / "q5.jsonl", [AHB_ROWS[0], {**AHB_ROWS[1], "id": None}]), dims)
    mixed = [{"question_id": "1", "language": "English", "base_item": "1", "question": "Q",
              "dimensions": ["Harm Minimization"], "assignments": [{}], "english": None}, AHB_ROWS[0]]
    with pytest.raises(DataError, match=r"q3\.jsonl, row 2: mixes prepared rows"):
        load_benchmark("ahb", write_rows(tmp_path / "q3.jsonl", mixed), dims)
    with pytest.raises(DataError, match=r"q4\.jsonl, row 1: dimension 'Nope' is not in the dimensions file"):
        load_benchmark("ahb", write_rows(tmp_path / "q4.jsonl", [{**mixed[0], "dimensions": ["Nope"]}]), dims)
    with pytest.raises(ValueError, match="unknown benchmark format 'aha'"):
        load_benchmark("aha", questions, dims)


# ---------------------------------------------------------------------------------------------
# MORU

MORU_DIMENSIONS = [dimension("Sentience Precaution", weight=3.0), dimension("Scope Sensitivity"),
                   dimension("Perspective Taking")]


def moru_row(qid, language, tags, question="What should we do?", english="What should we do?"):
    return {"id": qid, "question": question, "source": "europa", "question_type": "dilemma",
            "input_prompt_suffix": "Explain.", "dimension_tags": tags, "dimension_weights": "9,9",
            "language": language, "english_translation": english}


MORU_ROWS = [
    moru_row("m1", "en", "sentience precaution, SCOPE SENSITIVITY"),
    moru_row("m1", "ms", "Sentience Precaution, Made Up Tag", question="Apa patut kita buat?"),
    moru_row("m1", "hi", "Perspective Taking", question="हमें क्या करना चाहिए?"),
    moru_row("m1", "ms", "Perspective Taking", question="Pendua"),  # duplicate (id, language)
    moru_row("m2", "English", " Scope Sensitivity ,, "),
]


@pytest.fixture
def moru_files(tmp_path):
    return (write_rows(tmp_path / "questions.jsonl", MORU_ROWS),
            write_rows(tmp_path / "dimensions.jsonl", MORU_DIMENSIONS))


def test_moru_matches_tags_case_insensitively_and_drops_unknown_ones_with_a_record(moru_files):
    benchmark = load_benchmark("moru", *moru_files)
    by_key = {(q["question_id"], q["language"]): q for q in benchmark.questions}
    assert by_key[("m1", "English")]["dimensions"] == ["Sentience Precaution", "Scope Sensitivity"]
    assert by_key[("m1", "Malay")]["dimensions"] == ["Sentience Precaution"]
    assert by_key[("m2", "English")]["dimensions"] == ["Scope Sensitivity"]
    assert benchmark.report["dropped_tags"] == [{"row": 2, "id": "m1", "tag": "Made Up Tag"}]


def test_moru_dedupes_by_id_and_language_and_reads_language_codes(moru_files):
    benchmark = load_benchmark("moru", *moru_files)
    assert [(q["question_id"], q["language"]) for q in benchmark.questions] == [
        ("m1", "English"), ("m1", "Malay"), ("m1", "Hindi"), ("m2", "English")]
    malay = benchmark.questions[1]
    assert malay["question"] == "Apa patut kita buat?"  # the first of the two, not the duplicate
    assert malay["base_item"] == "m1" and malay["english"] == "What should we do?" and malay["assignments"] == [{}]
    assert benchmark.questions[0]["english"] is None
    assert benchmark.report["skipped"] == [
        {"row": 4, "id": "m1", "reason": "duplicate of row 2 (same id and language)"}]
    assert benchmark.report["language_aliases"] == {"en": "English", "ms": "Malay", "hi": "Hindi"}
    assert benchmark.report["n_raw"] == 5 and benchmark.report["n_kept"] == 4


def test_moru_weights_are_all_one_whatever_the_file_says(moru_files):
    dimensions = load_benchmark("moru", *moru_files).dimensions
    assert {d["weight"] for d in dimensions.values()} == {1.0}


def test_moru_strict_tags_and_rows_left_without_a_tag_are_errors(moru_files, tmp_path):
    with pytest.raises(DataError, match=r"questions\.jsonl, row 2: tag 'Made Up Tag' names no dimension"):
        load_benchmark("moru", *moru_files, strict_tags=True)
    rows = [MORU_ROWS[0], moru_row("m3", "English", "Unknown, Also Unknown")]
    no_valid_tag = r"q\.jsonl, row 2: no valid dimension tag \(dimension_tags: 'Unknown, Also Unknown'\)"
    with pytest.raises(DataError, match=no_valid_tag):
        load_benchmark("moru", write_rows(tmp_path / "q.jsonl", rows), moru_files[1])
    with pytest.raises(DataError, match=r"q2\.jsonl, row 1: field 'language' is empty"):
        load_benchmark("moru", write_rows(tmp_path / "q2.jsonl", [moru_row("m4", "", "Scope Sensitivity")]),
                       moru_files[1])


# ---------------------------------------------------------------------------------------------
# The tiny world's benchmarks load strictly, and the real AHB files load as the reference does

@pytest.mark.parametrize("fmt, n_questions", [("ahb", 24), ("moru", 30)])
def test_tiny_benchmarks_load_with_strict_tags(tmp_path, fmt, n_questions):
    questions, dimensions = tiny_world.make_benchmark(fmt, seed=0)
    benchmark = load_benchmark(fmt, write_rows(tmp_path / "q.jsonl", questions),
                               write_rows(tmp_path / "d.jsonl", dimensions), strict_tags=True)
    assert len(benchmark.questions) == n_questions and benchmark.report["skipped"] == []
    assert benchmark.report["dropped_tags"] == [] and len(benchmark.report["languages"]) >= 3
    for question in benchmark.questions:
        if "Moral Consideration" in question["dimensions"]:
            assert all("animal" in assignment for assignment in question["assignments"])


def test_real_ahb_files_load_as_the_reference_does(real_ahb_dir):
    benchmark = load_benchmark("ahb", real_ahb_dir / "questions.jsonl", real_ahb_dir / "dimensions.jsonl")
    report = benchmark.report
    assert report["n_raw"] == 115 and report["n_kept"] == 114
    assert report["skipped"] == [{"row": 59, "id": 58, "reason": "tag(s) '' name no dimension"}]  # id 58 is line 59
    assert report["languages"]["English"] == 30  # 26 null + 4 "English"
    assert len(benchmark.dimensions) == 13
    assert "{{animal}}" in benchmark.dimensions["Moral Consideration"]["guiding_question"]
    questions = {q["question_id"]: q for q in benchmark.questions}
    assert questions["2"]["assignments"] == [{"animal": "cricket"}]
    assert questions["3"]["assignments"] == [{"animal": "naked mole rats"}, {"animal": "hamster"}]
    assert "58" not in questions
    with pytest.raises(DataError, match=r"row 59: tag '' names no dimension"):
        load_benchmark("ahb", real_ahb_dir / "questions.jsonl", real_ahb_dir / "dimensions.jsonl", strict_tags=True)


# ---------------------------------------------------------------------------------------------
# Download (hub calls replaced by local datasets) and the scripts

def fake_commit(revision: str) -> str:
    """A 40-hex commit standing in for what the hub resolves ``revision`` to."""
    import hashlib

    return hashlib.sha1(revision.encode()).hexdigest()


def test_download_reads_the_pinned_hub_revisions(tmp_path, monkeypatch):
    """Each repository's revision is resolved to its commit first and that commit is loaded; the
    origin records both. Defaults (the schema's): AHB at the commit inspect_evals pins."""
    import datasets

    from value_retention import hub_revisions

    ahb_questions, ahb_dimensions = tiny_world.make_benchmark("ahb", 0)
    moru_questions, moru_dimensions = tiny_world.make_benchmark("moru", 0)
    ahb = "CompassioninMachineLearning/anima"
    ahb_commit = "c658f00e80529c8b2d81bb89d95df6af4d4b5bf6"
    tables = {(ahb, "questions"): ahb_questions, (ahb, "dimensions"): ahb_dimensions,
              ("org/moru", None): moru_questions, ("org/moru-dims", None): moru_dimensions}
    calls, resolved = [], []

    def fake_load_dataset(repo, name=None, **kwargs):
        calls.append((repo, name, kwargs))
        return datasets.Dataset.from_list(tables[(repo, name)])

    def fake_resolve(repo, revision, repo_type="model"):
        resolved.append((repo, revision, repo_type))
        return revision if hub_revisions.COMMIT_SHA.match(revision) else fake_commit(revision)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(hub_revisions, "resolve", fake_resolve)
    info = benchmarks.download({"source": "hub", "format": "ahb"}, tmp_path / "a" / "q.jsonl",
                               tmp_path / "a" / "d.jsonl")
    assert resolved == [(ahb, ahb_commit, "dataset")]
    assert calls == [(ahb, "questions", {"revision": ahb_commit, "split": "train"}),
                     (ahb, "dimensions", {"revision": ahb_commit, "split": "train"})]
    assert info["origin"]["commit"] == ahb_commit and info["origin"]["repo"] == ahb
    assert info["n_questions"] == 24 and len(load_benchmark("ahb", tmp_path / "a" / "q.jsonl",
                                                            tmp_path / "a" / "d.jsonl").questions) == 24
    calls.clear()
    spec = {"source": "hub", "format": "moru", "repo": "org/moru", "revision": "r1",
            "dimensions_repo": "org/moru-dims", "dimensions_revision": "r2"}
    info = benchmarks.download(spec, tmp_path / "m" / "q.jsonl", tmp_path / "m" / "d.jsonl")
    assert calls == [("org/moru", None, {"revision": fake_commit("r1"), "split": "train"}),
                     ("org/moru-dims", None, {"revision": fake_commit("r2"), "split": "train"})]
    assert (info["origin"]["revision"], info["origin"]["commit"]) == ("r1", fake_commit("r1"))
    assert info["origin"]["dimensions"]["commit"] == fake_commit("r2")
    assert len(read_jsonl(tmp_path / "m" / "q.jsonl")) == 30


def test_download_copies_local_files(tmp_path, moru_files):
    spec = {"source": "local", "format": "moru", "questions_path": str(moru_files[0]),
            "dimensions_path": str(moru_files[1])}
    info = benchmarks.download(spec, tmp_path / "raw" / "q.jsonl", tmp_path / "raw" / "d.jsonl")
    assert info["n_questions"] == 5 and info["n_dimensions"] == 3
    assert len(load_benchmark("moru", tmp_path / "raw" / "q.jsonl", tmp_path / "raw" / "d.jsonl").questions) == 4
    with pytest.raises(ConfigError, match="source 'tiny' has nothing to download"):
        benchmarks.download({"source": "tiny", "format": "moru"}, tmp_path / "q.jsonl", tmp_path / "d.jsonl")


def test_tiny_benchmark_and_prepare_benchmark_scripts(tmp_path):
    spec = {"source": "tiny", "format": "moru", "languages": ["English", "Hindi"], "strict_tags": True, "n_items": 4}
    raw = {"questions": tmp_path / "raw" / "questions.jsonl", "dimensions": tmp_path / "raw" / "dimensions.jsonl"}
    out = {"questions": tmp_path / "moru" / "questions.jsonl", "dimensions": tmp_path / "moru" / "dimensions.jsonl",
           "report": tmp_path / "moru" / "report.json"}
    run_script("make_tiny_benchmark", input={}, output=raw, params={"spec": spec, "seed": 0},
               wildcards={"bench": "moru"})
    run_script("prepare_benchmark", input=raw, output=out, params={"spec": spec}, wildcards={"bench": "moru"})
    assert len(read_jsonl(raw["questions"])) == 12
    report = read_json(out["report"])
    assert report["languages"] == {"English": 4, "Hindi": 4} and report["not_selected"] == {"Malay": 4}
    assert len(read_jsonl(out["questions"])) == 8
    sidecar = json.loads(sidecar_path(out["report"]).read_text())
    assert sidecar["rule"] == "prepare_benchmark" and sidecar["not_selected"] == {"Malay": 4}
    assert sidecar_path(raw["dimensions"]).exists()
