"""The ``labelloop`` command (DESIGN.md section 7).

A user error prints one line, ``labelloop: error: ...``, and exits with status 2; ``--json``
prints machine-readable output.

Each command imports what it needs when it runs: loading every command's modules (scikit-learn,
Flask, the labeling service, ...) took seconds, even for ``labelloop --version``. The parser's
choices and defaults come from modules that import at most numpy and pandas (``options``,
``sampling``, ``store.items``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from labelloop import __version__
from labelloop.errors import LabelloopError
from labelloop.learning.embedding_model import (
    DEFAULT_MODEL,
    FEATURES,
    INSTALL_HINT,
    check_features,
    model_identity,
    resolve_features,
)
from labelloop.llm.client import DEFAULT_KEY_ENV, DEFAULT_TIMEOUT
from labelloop.parameters.tables import AUDIT_SHARE
from labelloop.platform.delimited import decimal_flag, delimiter_flag
from labelloop.sampling import DEFAULT_DIVERSITY, DIVERSITY, STRATEGIES
from labelloop.standalone.options import DEFAULT_RETRAIN_EVERY, DEFAULT_WATCH_SECONDS, DEMO_TYPES, EXPORT_FORMATS
from labelloop.store.items import DATA_TYPES

if TYPE_CHECKING:
    from labelloop.standalone.project import Project


def _init(args) -> None:
    from labelloop.standalone.project import init_project, parse_categories

    project = init_project(
        args.dir, args.data, args.type, parse_categories(args.categories),
        id_column=args.id_column, text_column=args.text_column, label_column=args.label_column,
        multi_label=args.multi_label, journal=args.journal, dataset_format=args.dataset_format,
        columns_first=_names(args.columns_first), overlap_share=args.overlap_share,
        overlap_annotators=args.overlap_annotators, audit_share=args.audit_share, table=args.table,
        features=args.features or "auto", embedding_model=args.embedding_model or DEFAULT_MODEL,
        delimiter=args.delimiter, decimal=args.decimal, **_llm_settings(args),
    )
    print(f"Created labelloop project in {project.root} ({args.type}, {len(project.source)} items).")


def _llm_settings(args) -> dict:
    """The LLM flags given (the key's variable name, never the key), as project settings."""
    given = {"llm_url": args.llm_url, "llm_model": args.llm_model, "llm_task": args.llm_task,
             "llm_key_env": args.llm_key_env}
    return {name: value for name, value in given.items() if value is not None}


def _llm(args) -> None:
    from labelloop.llm.prelabel import Pace
    from labelloop.standalone.llm_prelabel import prelabel_project
    from labelloop.standalone.project import Project

    project = Project.open(args.dir)
    project.update_settings(**_llm_settings(args))
    pace = Pace(concurrency=args.concurrency, rate=args.rate)
    bar = _progress_bar("items") if sys.stderr.isatty() and not args.json and not args.dry_run else None
    found = prelabel_project(project, args.sample, args.dry_run, pace, args.timeout, bar)
    _report(args, found, _print_estimate if args.dry_run else _print_llm)


def _print_estimate(found: dict) -> None:
    print(f"{found['items']:,} items to send to {found['model']} (prompt {found['prompt_version']}): about "
          f"{found['tokens']:,} tokens ({found['prompt_tokens']:,} in prompts, {found['answer_tokens']:,} in answers).")


def _print_llm(found: dict) -> None:
    def share(value):
        return "-" if value is None else f"{value:.1%}"

    print(f"Prompt {found['prompt_version']}: {found['answered']:,} answers, {found['abstained']:,} abstentions "
          f"(unparseable or off the list), {found['errors']:,} items without an answer in this run.")
    print(f"Accuracy on {found['gold']:,} items people labeled: {share(found['accuracy'])}")
    print(f"{'human label':<24}{'accuracy':>10}{'coverage':>10}{'items':>8}")
    for name, value in found["categories"].items():
        print(f"{name[:23]:<24}{share(value['accuracy']):>10}{share(value['coverage']):>10}{value['gold']:>8}")


def _seconds(text: str) -> float:
    """A duration flag: a finite number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds (0 or more)")
    return value


def _count(text: str) -> int:
    """A flag counting things: a whole number, 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more")
    return int(text)


def _names(text: str | None) -> list:
    """A comma-separated list of names, blanks left out."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def project_status(project: Project) -> dict:
    """Everything ``labelloop status`` reports, as one JSON-ready dict."""
    from labelloop.labeling.tally import Tally
    from labelloop.standalone.embeddings import features_status
    from labelloop.standalone.project import MODEL
    from labelloop.store.metrics import learning_curve, load_metrics

    stats = Tally.of_journal(project.journal, project.settings.multi_label).stats(total=len(project.source))
    registry = project.platform.registry(MODEL)
    return {
        "project": str(project.root),
        "type": project.settings.type,
        "categories": [c["key"] for c in project.settings.categories],
        **stats,
        "features": features_status(project),
        "modelVersions": registry.versions(),
        "learningCurve": learning_curve(load_metrics(project.platform, MODEL)),
    }


def _features_line(features: dict) -> str:
    """The features in words: what the model learns from, and with embeddings how far the cache is."""
    if features["kind"] != "embeddings":
        return features["uses"]
    done = "all items embedded" if features["ready"] else f"{features['items']:,} items embedded so far"
    return f"{features['uses']}, and sentence embeddings of {features['model']} ({done})"


def _print_status(status: dict) -> None:
    def counts(mapping):
        return ", ".join(f"{k} {v}" for k, v in mapping.items()) or "none"

    print(f"Project   {status['project']} ({status['type']}, {status['total']} items)")
    print(f"Items     {status['labeledItems']} labeled   {status['skippedItems']} skipped   {status['remaining']} remaining")
    print(f"Answers   {status['labelAnswers']} labels   {status['skipAnswers']} skips (one per annotator and item)")
    print(f"Per label {counts(status['perLabel'])} (answers)")
    annotators = {a: f"{c['labeled']} labeled/{c['skipped']} skipped" for a, c in status["perAnnotator"].items()}
    print(f"Annotators {counts(annotators)}")
    print(f"Sessions  {counts(status['sessions'])}")
    print(f"Features  {_features_line(status['features'])}")
    print(f"Models    {', '.join(status['modelVersions']) or 'none yet'}")
    if status["learningCurve"]:
        _print_learning_curve(status["learningCurve"])


def _print_learning_curve(curve: list) -> None:
    """The model panel's chart as a table: accuracy on items picked at random, so not flattered by the queue."""
    def share(value):
        return "-" if value is None else f"{value:.1%}"

    print("\nLearning curve (accuracy on items picked at random, so not flattered by the queue)")
    print(f"{'version':<10}{'labels':>8}{'accuracy':>10}{'95% interval':>18}{'items':>7}{'changed':>9}")
    for point in curve:
        interval = "-" if point["low"] is None else f"{share(point['low'])}-{share(point['high'])}"
        print(f"{point['version']:<10}{point['labels'] if point['labels'] is not None else '-':>8}"
              f"{share(point['accuracy']):>10}{interval:>18}{point['items']:>7}{share(point['contradiction']):>9}")


def _report(args, found: dict, as_text) -> None:
    """``--json`` prints the report as it is; otherwise ``as_text(found)`` writes it for people."""
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        as_text(found)


def _status(args) -> None:
    from labelloop.standalone.project import Project

    _report(args, project_status(Project.open(args.dir)), _print_status)


def _export(args) -> None:
    from labelloop.standalone.export import export
    from labelloop.standalone.project import Project

    path = export(Project.open(args.dir), args.format, args.out, metadata=args.metadata)
    print(path)


def _import(args) -> None:
    from labelloop.standalone.label_import import import_labels
    from labelloop.standalone.project import Project

    project = Project.open(args.dir)
    result = import_labels(project, args.labels, args.annotator or project.platform.user(), id_column=args.id_column,
                           label_column=args.label_column, skip_invalid=args.skip_invalid)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    left_out = f", {len(result.skipped):,} invalid rows left out" if result.skipped else ""
    print(f"Imported {result.imported:,} labels{left_out}.")


def _quality(args) -> None:
    from labelloop.standalone.project import Project
    from labelloop.standalone.team_quality import quality_report

    _report(args, quality_report(Project.open(args.dir)), _print_quality)


def _print_quality(found: dict) -> None:
    _print_agreement(found["agreement"])
    _print_pull(found["suggestionPull"])
    if found.get("llm"):
        _print_llm(found["llm"])
    _print_suspects(found)


def _print_llm(llm: dict) -> None:
    """The LLM against the final labels, on the labeled items it answered (its examples aside)."""
    found = llm["agreement"]
    if not found["items"]:
        print(f"\nThe LLM ({llm['model']}) has answered none of the labeled items yet (its examples aside).")
        return
    kappa = "-" if found["kappa"] is None else f"{found['kappa']:.3f}"
    print(f"\nThe LLM ({llm['model']}) with the final labels: accuracy {found['accuracy']:.3f}, Cohen's kappa {kappa}, "
          f"over {found['items']:,} labeled items")


def _print_pull(pull: dict) -> None:
    """How often answers equal the model's suggestion, shown and hidden (the audit slice)."""
    def cell(group):
        return "-" if group["agree"] is None else f"{group['agree']:.3f} of {group['items']:,}"

    print(f"\n{'agreement with the suggestion':<30}{'shown':>16}{'hidden (audit)':>18}")
    rows = [("all", pull)] + sorted(pull["byAnnotator"].items()) + [(f"suggested {k}", v) for k, v in pull["byCategory"].items()]
    rows += [(f"suggested by the {k}", v) for k, v in pull.get("bySource", {}).items()]
    for name, groups in rows:
        print(f"{name:<30}{cell(groups['withSuggestion']):>16}{cell(groups['audited']):>18}")


def _print_agreement(found: dict) -> None:
    def share(value):
        return "-" if value is None else f"{value:.3f}"

    if not found["items"]:
        print("No item has two answers yet: agreement needs items labeled by two annotators or more.")
        return
    print(f"Krippendorff's alpha {share(found['alpha'])} over {found['items']:,} items with two answers or more")
    if found["pairs"]:
        print(f"\n{'annotators':<30}{'kappa':>8}{'items':>8}")
        for pair in found["pairs"]:
            print(f"{pair['a'] + ' / ' + pair['b']:<30}{share(pair['kappa']):>8}{pair['items']:>8}")
    print(f"\n{'annotator':<30}{'agrees with the others':>24}{'items':>8}")
    for name, value in found["annotators"].items():
        print(f"{name:<30}{share(value['agreement']):>24}{value['items']:>8}")
    print(f"\n{'category':<30}{'agreement':>10}{'answers':>9}")
    for name, value in found["categories"].items():
        print(f"{name:<30}{share(value['agreement']):>10}{value['answers']:>9}")


def _print_suspects(found: dict, shown: int = 20) -> None:
    if found["suspects"] is None:
        print(f"\nSuspected label errors: none computed. {found['suspectsUnavailable']}")
        return
    print(f"\nSuspected label errors: {len(found['suspects']):,} (the model, cross-validated, finds their label "
          f"unlikely; the {min(shown, len(found['suspects']))} most suspicious)")
    print(f"{'item':<22}{'label':<16}{'suggested':<16}{'score':>7}  what it is")
    for suspect in found["suspects"][:shown]:
        print(f"{suspect['item_id'][:21]:<22}{suspect['label'][:15]:<16}{suspect['suggested'][:15]:<16}"
              f"{suspect['score']:>7.3f}  {suspect['preview']}")


def _rules(args) -> None:
    from labelloop.standalone.labeling_rules import read_rules_file, replace_rules
    from labelloop.standalone.project import Project

    rules = replace_rules(Project.open(args.dir), read_rules_file(args.file))
    enabled = sum(rule.enabled for rule in rules)
    if args.json:
        print(json.dumps({"rules": len(rules), "enabled": enabled}))
    else:
        print(f"Saved {len(rules)} rules ({enabled} enabled).")


def _weak(args) -> None:
    from labelloop.standalone.labeling_rules import weak_labels
    from labelloop.standalone.project import Project

    _report(args, weak_labels(Project.open(args.dir)), _print_weak)


def _print_weak(found: dict) -> None:
    def share(value):
        return "-" if value is None else f"{value:.1%}"

    print(f"{'rule':<24}{'label':<14}{'coverage':>9}{'overlap':>9}{'conflict':>9}{'accuracy':>9}{'of gold':>8}")
    for rule in found["rules"]:
        off = "" if rule["enabled"] else "  (disabled)"
        print(f"{rule['name'][:23]:<24}{(rule['label'] or 'its answer')[:13]:<14}{share(rule['coverage']):>9}"
              f"{share(rule['overlap']):>9}{share(rule['conflict']):>9}{share(rule['accuracy']):>9}{rule['gold']:>8}{off}")
        for category, measured in rule.get("categories", {}).items():  # an LLM's answers, per category
            print(f"{'':<24}{category[:13]:<14}{share(measured['coverage']):>9}{'':>18}{share(measured['accuracy']):>9}"
                  f"{measured['gold']:>8}")
    model = found["label_model"]
    voters = "rules and the LLM" if any("categories" in rule for rule in found["rules"]) else "rules"
    print(f"\n{found['weak_labels']:,} weak labels: the enabled {voters} cover {share(found['coverage'])} of the items.")
    if model["gold"]:
        print(f"On the {model['gold']:,} labeled items they cover: label model {share(model['gold_accuracy'])}, "
              f"majority vote {share(model['majority_gold_accuracy'])}.")
    reason = {"human labels": "the human labels", "fit": "the model's fit"}[model["decided_by"]]
    print(f"The weak labels come from the {model['method']} (decided by {reason}).")


def _sample(args) -> None:
    from labelloop.learning.query_sampler import SamplerSettings
    from labelloop.standalone.loop import sample, sample_on_spark
    from labelloop.standalone.project import MODEL, Project

    # refused before anything is read or written
    settings = SamplerSettings(strategy=args.strategy, max_queries=args.max_queries, random_share=args.random_share,
                               chunk_size=args.chunk_size, seed=args.seed, diversity=args.diversity,
                               rules_bonus=args.rules_bonus, llm_disagreement=args.llm_disagreement)
    project = Project.open(args.dir)
    if project.platform.registry(MODEL).latest() is None:
        _first_batch(project, args)
        return
    summary = sample(project, settings) if args.engine == "pandas" else sample_on_spark(project, settings, args.spark_master)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        diverse = f", {DIVERSITY[summary['diversity']]}" if summary["diversity"] != "none" else ""
        print(f"Session {summary['session']}: {summary['queries']} queries ({summary['random']} random{diverse}) from "
              f"{summary['scored']} unlabeled items, model {summary['modelVersion']}.")


def _first_batch(project, args) -> None:
    """No model yet: with diversity, the items nearest k-means centres of the pool (standalone/first_batch.py)."""
    from labelloop.standalone.first_batch import write_first_batch

    if args.diversity == "none":
        raise LabelloopError(f"No model has been trained yet in {project.root}: label some items, then run "
                             "'labelloop train' (or sample a first diverse batch with --diversity).")
    summary = write_first_batch(project, args.max_queries or DEFAULT_RETRAIN_EVERY, args.seed)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Session {summary['session']}: {summary['queries']} queries, the items nearest k-means centres of the "
              f"pool (no model yet: label them, then run 'labelloop train').")


def _train(args) -> None:
    from labelloop.standalone.embeddings import features_status
    from labelloop.standalone.loop import train_and_measure
    from labelloop.standalone.project import Project
    from labelloop.store.metrics import recommendation

    project = _with_features(Project.open(args.dir), args)
    model, metrics = train_and_measure(project, weak=args.weak)
    cache = features_status(project)  # the version's features, and how far the project's embedding is
    features = {**model["features"], "ready": cache["ready"], "items": cache["items"], "uses": cache["uses"]}
    _report(args, {**model, "features": features, "metrics": metrics[-1] if metrics else None,
                   "stopping": recommendation(metrics)}, _print_model)


def _with_features(project: Project, args) -> Project:
    """The project with ``--features`` and ``--embedding-model`` recorded, when given (embeddings asked
    for but impossible are refused in one sentence, and nothing is recorded)."""
    project.update_settings(features=args.features, embedding_model=args.embedding_model)
    return project


def _embed(args) -> None:
    from labelloop.standalone.embeddings import embed_pool, feature_choice, features_status
    from labelloop.standalone.project import Project

    project = _with_features(Project.open(args.dir), args)
    choice = feature_choice(project)
    if choice.kind != "embeddings":
        raise LabelloopError("This project's features are TF-IDF: nothing to embed (use --features embeddings, "
                             f"with the extra installed: {INSTALL_HINT}).")
    bar = _progress_bar("texts") if sys.stderr.isatty() and not args.json else None
    found = embed_pool(project, choice, progress=bar)
    _report(args, {**features_status(project, choice), "total": found["total"]},
            lambda f: print(f"Embedded {f['items']:,} of {f['total']:,} items with {f['model']}."))


def _switch_note(features: dict) -> str:
    """Why a version trained on TF-IDF when the project asks for embeddings: the cache is not complete."""
    if features["ready"]:
        return ""
    return (f"; sentence embeddings once every item is embedded ({features['items']:,} so far: "
            "'labelloop embed' or 'labelloop serve' fills the cache)")


def _print_model(model: dict) -> None:
    score = "n/a (too few labels per class)" if model["cvAccuracy"] is None else f"{model['cvAccuracy']:.3f}"
    print(f"Model {model['version']}: {model['labels']} labels, classes {', '.join(model['classes'])}, "
          f"cross-validated accuracy {score}, trained in {model['trainingSeconds']} s.")
    print(f"Features: {_features_line({**model['features'], 'ready': True})}" + _switch_note(model["features"]))
    weak = model.get("weak")
    if weak and weak["humanOnly"] is not None:
        best = max(weak["withWeak"].values())
        verdict = "learned from them too" if weak["used"] else "left them out"
        print(f"Weak labels: {weak['weakLabels']:,} offered; accuracy on the human labels {weak['humanOnly']:.3f} "
              f"without them, {best:.3f} at best with them, so the model {verdict}.")
    elif weak:
        print(f"Weak labels: {weak['weakLabels']:,} offered, left out: too few human labels to measure them.")
    print(model["stopping"]["message"])


def _simulate(args) -> None:
    from labelloop.learning.simulate import SimulationSettings, print_table, read_llm_answers, simulate, write_curves
    from labelloop.standalone.labeling_rules import read_rules_file

    out_dir = Path(args.out or f"simulation-{Path(args.data).stem}")
    settings = SimulationSettings(
        strategies=tuple(s.strip() for s in args.strategy.split(",") if s.strip()), seeds=args.seeds,
        seed_labels=args.seed_labels, batch=args.batch, max_labels=args.max_labels, jobs=args.jobs,
        diversity=tuple(d.strip() for d in args.diversity.split(",") if d.strip()),
        **({"random_share": args.random_share} if args.random_share is not None else {}),
        rules=read_rules_file(args.rules) if args.rules else None,
        llm_answers=read_llm_answers(args.llm_answers) if args.llm_answers else None, groups=args.groups,
        **({"group_size": args.group_size} if args.group_size is not None else {}), **_simulation_features(args, out_dir))
    progress = _progress_bar("runs") if sys.stderr.isatty() and not args.json else None
    result = simulate(args.data, args.label_column, settings, labels_csv=args.labels, data_type=args.type,
                      text_column=args.text_column, progress=progress, id_column=args.id_column)
    csv_path, png_path = write_curves(result, out_dir)
    if args.json:
        print(json.dumps(result))
        return
    print_table(result)
    print(f"Learning curves: {png_path} and {csv_path}")


def _simulation_features(args, out_dir: Path) -> dict:
    """``features`` and ``embeddings`` of the simulation: ``auto`` resolved as for a project, the
    vectors cached in OUT/embeddings so that a second simulation of the data does not embed it again."""
    from labelloop.learning.simulate import PoolEmbeddings

    name = args.embedding_model or DEFAULT_MODEL
    asked = [kind.strip() for kind in args.features.split(",") if kind.strip()]
    resolved = [resolve_features(kind, name) for kind in asked]
    kinds = tuple(dict.fromkeys(kind for kind, _ in resolved))
    path = next((path for _, path in resolved if path), None)
    if path is None:
        return {"features": kinds}
    cache = out_dir / "embeddings" / model_identity(name, path)
    return {"features": kinds, "embeddings": PoolEmbeddings(name, path, str(cache), args.text_column,
                                                            chosen_by_auto="embeddings" not in asked)}


def _progress_bar(unit: str):
    """A terminal progress bar, ``done/total unit``, as a ``progress(done, total)`` callback."""
    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} {unit}", end="" if done < total else "\n",
              file=sys.stderr, flush=True)
    return show


def _interrupt(*_):
    raise KeyboardInterrupt


def _serve_project(project: Project, args, auth_token: str | None) -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM), then stop every feature and flush the datasets.

    ``args.retrain_every`` > 0 runs the retrain loop (single-label projects); 0 turns it off."""
    from labelloop.labeling.app import create_app, freeze_long_lived
    from labelloop.labeling.protections import BOUND_HOST
    from labelloop.standalone import http_server
    from labelloop.standalone.serve_lock import ServeLock
    from labelloop.standalone.server import ServeOptions, check_host, serve_settings

    host = args.host
    check_host(host, auth_token)
    lock = ServeLock(project.root).acquire()  # a second server on the project is refused, naming the first
    reviewers = _names(getattr(args, "reviewers", None)) or None
    options = ServeOptions(auth_token=auth_token, reviewers=reviewers, require_keys=getattr(args, "require_keys", False),
                           online=args.suggestions == "online", retrain_every=args.retrain_every,
                           diversity=args.diversity, rules_bonus=args.rules_bonus, watch_pool=args.watch_pool)
    app = create_app(serve_settings(project, options))
    app.config[BOUND_HOST] = host  # a Host it answers under, besides loopback names
    freeze_long_lived()
    signal.signal(signal.SIGTERM, _interrupt)  # from here on a stop, whenever it comes, flushes and frees the project
    server = None
    try:
        server = http_server.make_http_server(app, host, args.port)  # a port in use is its one-sentence error
        url = f"http://{host}:{server.effective_port}/"
        lock.announce(url)
        print(f"labelloop: serving {project.root} at {url}", flush=True)
        if auth_token:
            _print_access(project, url, reviewers or [])
        server.run()  # returns on KeyboardInterrupt, once the requests being handled finish (up to 5 s)
    except KeyboardInterrupt:
        pass  # a stop that came before the server ran is a stop like any other
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second stop does not cut the flush short
        _stop_serving(app, project, lock)
        if server is not None:
            print("labelloop: stopped; labels and metadata datasets are written.", flush=True)


def _stop_serving(app, project: Project, lock) -> None:
    """Stop every feature's thread, flush the datasets, free the project for another server."""
    from labelloop.labeling.app import webapp_of

    webapp_of(app).stop()
    project.close()
    lock.release()


def _print_access(project: Project, url: str, reviewers: list) -> None:
    """How to open a shared server (the token itself is never printed), and the reviewers still without a key."""
    print(f"labelloop: open {url}?token=TOKEN once in each browser, TOKEN being the access token you set", flush=True)
    from labelloop.store.name_keys import NameKeys

    keys = NameKeys(project.journal)
    for name in reviewers:
        bound = keys.key_of(name)
        if bound is None or not bound[1]:
            print(f"labelloop: reviewer '{name}' has no key yet: labelloop names {project.root} --issue '{name}'",
                  flush=True)


def _serve(args) -> None:
    from labelloop.standalone.access import ARGV_REFUSED, read_token
    from labelloop.standalone.project import Project

    if args.auth_token is not None:
        raise LabelloopError(ARGV_REFUSED)
    token = read_token(args.auth_token_file)
    if args.require_keys and not token:
        raise LabelloopError("--require-keys is for a shared server: set LABELLOOP_AUTH_TOKEN or use --auth-token-file.")
    project = _with_features(Project.open(args.dir, user=args.user), args)
    project.update_settings(**_llm_settings(args))
    _serve_project(project, args, token)


def _names_command(args) -> None:
    from labelloop.standalone.names import issue_key, release_name
    from labelloop.standalone.project import Project
    from labelloop.store.name_keys import NameKeys

    journal = Project.open(args.dir).journal
    if args.issue:
        key = issue_key(journal, args.issue)
        _report(args, {"name": args.issue.strip(), "key": key},
                lambda f: print(f"Key for '{f['name']}' (shown only now; any previous key of this name stops working):"
                                f"\n{f['key']}"))
    elif args.release:
        release_name(journal, args.release)
        _report(args, {"released": args.release.strip()},
                lambda f: print(f"Released '{f['released']}': its key no longer works."))
    else:
        _report(args, [{**n, "lastSeen": n["lastSeen"] and n["lastSeen"].isoformat(timespec="seconds") + "Z"}
                       for n in NameKeys(journal).names()], _print_names)


def _print_names(names: list) -> None:
    if not names:
        print("No annotator names yet.")
        return
    print(f"{'name':<30}{'key':<10}{'answers':>8}  last seen")
    for name in names:
        print(f"{name['name']:<30}{name['key'] or '-':<10}{name['answers']:>8}  {name['lastSeen'] or '-'}")


def _demo(args) -> None:
    from labelloop.standalone.demo import demo_project

    project = demo_project(args.dir or f"demo-{args.type}", args.type)
    _serve_project(_with_features(project, args), args, None)


def _plugin(args) -> None:
    from labelloop.standalone.plugin_archive import build_plugin

    print(build_plugin(out_dir=args.out))


def _feature_options(command) -> None:
    command.add_argument("--features", type=check_features_flag, metavar="|".join(FEATURES),
                         help="text features: sentence embeddings or TF-IDF; auto (the default) takes embeddings when "
                              f"'{INSTALL_HINT}' is done and the model is on this machine (recorded in the project)")
    command.add_argument("--embedding-model", metavar="NAME_OR_FOLDER",
                         help=f"the sentence-transformers model (default {DEFAULT_MODEL}); never downloaded")


def _llm_options(command) -> None:
    command.add_argument("--llm-url", metavar="URL", help="an OpenAI-compatible endpoint's base URL, such as "
                         "http://127.0.0.1:11434/v1 (Ollama); the project POSTs to URL/chat/completions")
    command.add_argument("--llm-model", metavar="NAME", help="the model the endpoint serves")
    command.add_argument("--llm-key-env", type=_flag_type(_variable_name), metavar="VAR",
                         help=f"the environment variable holding the endpoint's key (default {DEFAULT_KEY_ENV}); "
                              "the key itself is never written anywhere")
    command.add_argument("--llm-task", metavar="SENTENCE", help="what the labels are for, in a sentence the LLM reads")


def _variable_name(text: str) -> str:
    """An environment variable's name: a key given here by mistake would be written to the project."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", text):
        raise LabelloopError("--llm-key-env takes the name of an environment variable (such as "
                             f"{DEFAULT_KEY_ENV}), not the key.")
    return text


def _flag_type(check):
    """An argparse type from a check that raises one sentence."""
    def checked(text: str) -> str:
        try:
            return check(text)
        except LabelloopError as error:
            raise argparse.ArgumentTypeError(str(error)) from error
    return checked


check_features_flag = _flag_type(check_features)


def _loop_options(command) -> None:
    _feature_options(command)
    command.add_argument("--retrain-every", type=int, default=DEFAULT_RETRAIN_EVERY, metavar="N",
                         help=f"retrain and re-rank after N labels in a session (default {DEFAULT_RETRAIN_EVERY}; 0: never)")
    _sampling_options(command)
    command.add_argument("--suggestions", choices=("online", "version"), default="online",
                         help="online (default): suggestions from a model that learns from every label; "
                              "version: from the latest trained version only")
    command.add_argument("--watch-pool", type=_seconds, default=DEFAULT_WATCH_SECONDS, metavar="SECONDS",
                         help="look for new rows or files in the pool this often, and serve them without a restart "
                              f"(default {DEFAULT_WATCH_SECONDS:g}; 0: never)")


def _sampling_options(command) -> None:
    command.add_argument("--diversity", choices=DIVERSITY, default=DEFAULT_DIVERSITY,
                         help="how a batch is picked: " + "; ".join(f"{name}: {words}" for name, words in DIVERSITY.items()
                                                                   if words) + f" (default {DEFAULT_DIVERSITY})")
    command.add_argument("--rules-bonus", type=float, default=0.0, metavar="X",
                         help="added to the uncertainty of items where no enabled rule votes or the rules disagree "
                              "(0 to 10; default 0: the rules do not change the ranking)")


def _report_command(commands, name: str, description: str, run):
    """A command that takes a project folder and reports on it, as text or ``--json``."""
    command = commands.add_parser(name, help=description)
    command.add_argument("dir")
    command.add_argument("--json", action="store_true")
    command.set_defaults(run=run)
    return command


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="labelloop", description="ML-assisted labeling.")
    main_parser.add_argument("--version", action="version", version=f"labelloop {__version__}")
    commands = main_parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create a project folder for a dataset or a folder of media")
    init.add_argument("dir")
    init.add_argument("--data", required=True, help="CSV, Parquet or JSONL file; a folder for image and sound; "
                                                     "or a database URL (postgresql://...) with --table")
    init.add_argument("--table", help="with a database URL: the table whose rows are the items (schema.table works)")
    init.add_argument("--type", required=True, choices=DATA_TYPES)
    init.add_argument("--categories", required=True, help="a,b,c or a=Caption A,b=Caption B")
    init.add_argument("--id-column", help="column whose values identify rows (default: a hash of the row)")
    init.add_argument("--text-column", help="the column to read, for text data")
    init.add_argument("--label-column", default="label", help="name of the label column written (default: label)")
    init.add_argument("--multi-label", action="store_true", help="several categories per item")
    init.add_argument("--columns-first", help="comma-separated columns the page shows first")
    init.add_argument("--journal", help="SQLAlchemy URL of a shared journal (default: SQLite in the project)")
    init.add_argument("--dataset-format", choices=("parquet", "csv"), default="parquet")
    init.add_argument("--overlap-share", type=float, default=0.0, metavar="SHARE",
                      help="share of items (0 to 1) served to several annotators, to measure agreement (default 0)")
    init.add_argument("--overlap-annotators", type=int, default=2, metavar="N",
                      help="how many annotators label each overlap item (2 to 5, default 2)")
    init.add_argument("--audit-share", type=float, default=AUDIT_SHARE.default, metavar="SHARE",
                      help="share of items (0 to 1) served without a suggestion, to measure how much suggestions "
                           f"sway answers (default {AUDIT_SHARE.default}; 0 turns it off)")
    init.add_argument("--delimiter", type=_flag_type(delimiter_flag), metavar="CHAR",
                      help="a CSV file's delimiter: comma, semicolon, tab or pipe (default: detected)")
    init.add_argument("--decimal", type=_flag_type(decimal_flag), metavar="CHAR",
                      help="a CSV file's decimal mark: point or comma (default: detected)")
    _feature_options(init)
    _llm_options(init)
    init.set_defaults(run=_init)

    _report_command(commands, "status", "progress of a project", _status)

    exporter = commands.add_parser("export", help="write the labels to a file")
    exporter.add_argument("dir")
    exporter.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    exporter.add_argument("--out", help="output path (default: DIR/exports/labels.FORMAT)")
    exporter.add_argument("--metadata", action="store_true", help="export the metadata (one row per answer)")
    exporter.set_defaults(run=_export)

    importer = commands.add_parser("import", help="bring in existing labels as one annotator's answers")
    importer.add_argument("dir")
    importer.add_argument("--labels", required=True, help="CSV, Parquet or JSONL file with the items and a label column")
    importer.add_argument("--annotator", help="whose answers they become (default: the OS user)")
    importer.add_argument("--id-column", help="the file's column of item ids (default: the project's id column; "
                                              "without one, the input columns; for a folder, path)")
    importer.add_argument("--label-column", help="the file's label column (default: the project's label column)")
    importer.add_argument("--skip-invalid", action="store_true", help="import the valid rows, list the others")
    importer.add_argument("--json", action="store_true")
    importer.set_defaults(run=_import)

    _report_command(commands, "quality", "how much the annotators agree", _quality)

    rules = commands.add_parser("rules", help="check a file of labeling rules and make them the project's")
    rules.add_argument("dir")
    rules.add_argument("--file", required=True, help="a JSON list of rules (see docs/reference/rules.md)")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(run=_rules)

    _report_command(commands, "weak", "apply the rules and write the weak labels", _weak)

    sample = commands.add_parser("sample", help="rank the unlabeled items with the latest model")
    sample.add_argument("dir")
    sample.add_argument("--strategy", choices=STRATEGIES, default="margin")
    sample.add_argument("--max-queries", type=int, help="keep the k most worth labeling (default: all)")
    sample.add_argument("--random-share", type=float, default=0.1, help="share of random queries (default 0.1)")
    sample.add_argument("--chunk-size", type=int, default=10_000, help="rows scored at a time")
    sample.add_argument("--seed", type=int, help="seed of the random share, for repeatable runs")
    _sampling_options(sample)
    sample.add_argument("--llm-disagreement", type=float, default=0.0, metavar="X",
                        help="added to the uncertainty of items where the LLM's latest answer is not the model's "
                             "prediction, or it abstained (0 to 10; default 0: the LLM does not change the ranking)")
    sample.add_argument("--engine", choices=("pandas", "spark"), default="pandas",
                        help="spark: score and rank as a Spark job (a Parquet pool; pip install labelloop[spark]); "
                             "the same queries as pandas for the same seed")
    sample.add_argument("--spark-master", default="local[2]", metavar="URL",
                        help="the Spark master with --engine spark (default local[2]: this machine's cores)")
    sample.add_argument("--json", action="store_true")
    sample.set_defaults(run=_sample)

    serve = commands.add_parser("serve", help="label in the browser")
    serve.add_argument("dir")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    serve.add_argument("--user", help="annotator name (default: the OS user)")
    serve.add_argument("--auth-token", help=argparse.SUPPRESS)  # refused: argv is visible to every local user
    serve.add_argument("--auth-token-file", metavar="FILE",
                       help="a file holding the access token (or set LABELLOOP_AUTH_TOKEN); needed to serve beyond "
                            "this machine; annotators then pick names")
    serve.add_argument("--reviewers", help="comma-separated names who may review labels (default: the one user of a "
                                           "server without a token; nobody on a shared one, where each needs a key "
                                           "from 'labelloop names --issue')")
    serve.add_argument("--require-keys", action="store_true",
                       help="on a shared server, every annotator needs a key from 'labelloop names --issue'")
    _loop_options(serve)
    _llm_options(serve)
    serve.set_defaults(run=_serve)

    llm = commands.add_parser("llm", help="pre-label items with an LLM and measure it against the human labels")
    llm.add_argument("dir")
    _llm_options(llm)
    llm.add_argument("--sample", type=_count, metavar="N", help="only N items of the pool, the same N on every run "
                                                             "(default: every item)")
    llm.add_argument("--dry-run", action="store_true", help="count the items and estimate the tokens; send nothing")
    llm.add_argument("--concurrency", type=int, default=4, choices=range(1, 65), metavar="N",
                     help="requests in flight (1 to 64, default 4)")
    llm.add_argument("--rate", type=float, default=0.0, metavar="PER_SECOND",
                     help="at most this many requests per second (default 0: no limit)")
    llm.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                     help=f"give up on a request after this long, then retry (default {DEFAULT_TIMEOUT:g})")
    llm.add_argument("--json", action="store_true")
    llm.set_defaults(run=_llm)

    demo = commands.add_parser("demo", help="build a demo project and serve it")
    demo.add_argument("--type", choices=DEMO_TYPES, default="tabular")
    demo.add_argument("--dir", help="where to keep the demo project (default: ./demo-TYPE)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    _loop_options(demo)
    demo.set_defaults(run=_demo)

    simulation = commands.add_parser("simulate", help="replay labeling with an oracle: active learning vs random")
    simulation.add_argument("--data", required=True, help="a fully labeled CSV/Parquet/JSONL file, or a media folder")
    simulation.add_argument("--label-column", required=True, help="the column holding the true labels")
    simulation.add_argument("--labels", help="for a folder: a CSV with a 'path' column and the label column")
    simulation.add_argument("--type", choices=DATA_TYPES, help="data type (default: tabular, text with --text-column, "
                                                           "image or sound for a folder)")
    simulation.add_argument("--text-column", help="for text data: the column to read")
    simulation.add_argument("--strategy", default=",".join(STRATEGIES), help="comma-separated (default: all)")
    simulation.add_argument("--seeds", type=int, default=5)
    simulation.add_argument("--seed-labels", type=int, default=20, help="random labels to start from (default 20)")
    simulation.add_argument("--batch", type=int, default=DEFAULT_RETRAIN_EVERY,
                            help=f"labels per round (default {DEFAULT_RETRAIN_EVERY}, as serve retrains)")
    simulation.add_argument("--max-labels", type=int, help="stop there (default: the whole pool)")
    simulation.add_argument("--diversity", default=DEFAULT_DIVERSITY,
                            help=f"comma-separated: {', '.join(DIVERSITY)} (default {DEFAULT_DIVERSITY}, as serve; "
                                 "several: every strategy with each)")
    simulation.add_argument("--random-share", type=float, metavar="SHARE",
                            help="share of each batch picked at random, as in serve's queries (default 0.1)")
    simulation.add_argument("--jobs", type=int, default=2, help="runs in parallel (default 2)")
    simulation.add_argument("--rules", help="a JSON file of labeling rules: adds a <strategy>+rules run per strategy")
    simulation.add_argument("--llm-answers", metavar="FILE",
                            help="an LLM's recorded answers, a CSV item_id,answer (empty: it abstained): adds a "
                                 "<strategy>+llm run per strategy, favouring the items where the LLM's answer is not "
                                 "the model's prediction (and with --rules, the LLM votes beside them)")
    simulation.add_argument("--id-column", help="the column whose values are the --llm-answers' item ids (default: "
                                                "the ids a project gives the rows)")
    simulation.add_argument("--groups", action="store_true",
                            help="adds a <strategy>+groups run per strategy: an annotator who confirms a queried item's "
                                 "look-alikes in one action; reports actions to 95%% beside labels")
    simulation.add_argument("--group-size", type=int,
                            help="items in a group, the queried one included (default 20, as /similar)")
    simulation.add_argument("--features", default="auto", help="comma-separated: auto, tfidf, embeddings (several: "
                                                             "every run on each, named <run>@<features>)")
    simulation.add_argument("--embedding-model", metavar="NAME_OR_FOLDER",
                            help=f"the sentence-transformers model (default {DEFAULT_MODEL}); never downloaded")
    simulation.add_argument("--out", help="folder for curves.png and curves.csv (default: ./simulation-NAME)")
    simulation.add_argument("--json", action="store_true")
    simulation.set_defaults(run=_simulate)

    trainer = _report_command(commands, "train", "train the next model version on the current labels", _train)
    trainer.add_argument("--weak", action="store_true", help="also offer the rules' weak labels (kept only if they help)")
    _feature_options(trainer)

    embedder = _report_command(commands, "embed", "embed the project's texts with the sentence model (resumable)", _embed)
    _feature_options(embedder)

    namer = _report_command(commands, "names", "list the annotator names of a shared server, free one, or issue a key",
                            _names_command)
    chosen = namer.add_mutually_exclusive_group()
    chosen.add_argument("--issue", metavar="NAME", help="make a new key for NAME and print it once")
    chosen.add_argument("--release", metavar="NAME", help="free NAME: its key stops working")

    plugin = commands.add_parser("plugin", help="build the DSS plugin zip")
    plugin.add_argument("--out", help="output folder (default: dist/)")
    plugin.set_defaults(run=_plugin)
    return main_parser


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    os.umask(0o077)  # projects hold annotators' answers: what labelloop writes is its user's alone
    try:
        args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not as an error at the interpreter's exit
    except LabelloopError as error:
        print(f"labelloop: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _output_closed()
    return 0


def _output_closed() -> int:
    """The reader of the output left (``labelloop status | head``): say so in one line, no traceback.

    The output is pointed at /dev/null so that Python's final flush of it does not fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print("labelloop: the output was closed before the command finished (a pipe such as | head); the rest was "
          "not printed.", file=sys.stderr)
    return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


if __name__ == "__main__":
    sys.exit(main())
