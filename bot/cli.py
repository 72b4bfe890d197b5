"""The ``evalbot`` command line.

evalbot run --once                  one cycle: discover -> re-plan -> evaluate -> store -> PRs
evalbot serve [--once]              the timer: discover and re-plan every interval, queue jobs
evalbot worker [--once] [--name N]  claim queued jobs: evaluate -> store -> PRs (any number)
evalbot evaluate ORG/MODEL[@REV] [--dry-run | --open-pr]   evaluate one repo, print the card diff
evalbot validate [PATH] [--online]  check config YAML (benchmark task ids: against the Hub;
                                    --online: every module against its dataset on the Hub)
evalbot reach CORPUS.jsonl [--json]   the share of a corpus of model cards that the modules
                                    would evaluate, per task, and why the rest would not
evalbot modules [--from-card DATASET]   the modules and their source (yaml, card) | the YAML a
                                    dataset's train-eval-index derives
evalbot status [--health]           queue, failures by reason, module problems, PRs, declines
                                    (--health: exit 0 if MongoDB answers and workers here beat)
evalbot stats [--json]              coverage: models found, queued, evaluated, and why not, per
                                    source, task, dataset, library and week; claims disagreeing
evalbot requeue [--module ID] [--reason R] [--model ORG/NAME] [--all]   queue models again
evalbot verify ORG/MODEL[@REV] [--public-key PEM]   a card's evalbot values vs the signed dataset
evalbot verify --print-public-key   the public key evalbot's results dataset is signed with
evalbot publish-results             commit the changed tables to the results dataset, once
evalbot keys create|show            make the signing key (once) | print its id and public key
evalbot export-fiftyone MODEL DATASET [--variant V]   a detection evaluation as a FiftyOne dataset
evalbot sandbox serve|seed          the local stand-in for the Hub
evalbot space [--dataset ORG/NAME | --data-dir DIR]   serve the Gradio Space over the results dataset
evalbot space deploy --repo ORG/NAME [--dataset ORG/NAME]   push the Space to a Hub Space repo
evalbot demo                        everything above on embedded defaults
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from bot.config import BotConfig, ConfigWatcher
    from store.db import Store
    from store.types import EvaluationRecord, ModelRecord

log = logging.getLogger("evalbot")


def _setup_logging(verbose: bool) -> None:
    from bot.logs import setup

    settings = Settings.from_env()
    setup(
        verbose=verbose,
        json_format=settings.log_format == "json",
        secrets=[settings.hf_token or "", settings.hf_read_token or ""],
    )


def _load(args: argparse.Namespace) -> tuple[Settings, BotConfig]:
    from bot.config import BotConfig, load_config  # imports torch: not for `status --health`

    settings = Settings.from_env(config_dir=args.config)
    config = load_config(settings.config_dir)
    overrides = _overrides(settings)
    if overrides:
        config = BotConfig(
            path=config.path,
            settings=config.settings.model_copy(update=overrides),
            modules=config.modules,
        )
    return settings, config


def _overrides(settings: Settings) -> dict[str, object]:
    """bot.yaml settings that the environment overrides (``EVALBOT_SPACE_URL``)."""
    return {"space_url": settings.space_url} if settings.space_url else {}


def _watch(settings: Settings, config: BotConfig) -> ConfigWatcher:
    from bot.config import ConfigWatcher

    return ConfigWatcher(settings.config_dir, config, overrides=_overrides(settings))


def _require_setup() -> None:
    """What ``run``, ``serve`` and ``worker`` need before they start: the signing key (made only
    by ``evalbot keys create``; what evalbot publishes is signed with it) and, with
    ``EVALBOT_PRODUCTION``, ``MONGODB_URI`` (no embedded database).

    Raises:
        StartupError: naming everything missing and what to do.
    """
    from bot.errors import SigningKeyMissingError, StartupError
    from bot.keys import load_signer
    from store.embedded import NO_EMBEDDED_IN_PRODUCTION

    settings = Settings.from_env()
    problems = []
    if settings.production and settings.mongodb_uri is None:
        problems.append(NO_EMBEDDED_IN_PRODUCTION)
    try:
        load_signer(settings.signing_key_path)
    except SigningKeyMissingError as exc:
        problems.append(str(exc))
    if problems:
        raise StartupError(problems)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.cycle import run_cycle
    from bot.hub import make_api, rate_limited
    from store.db import Store

    _require_setup()
    settings, config = _load(args)
    watcher = _watch(settings, config)
    api = make_api(settings, need_token=True, hub=config.settings.hub)
    with Store.open(settings.mongodb_uri) as store, rate_limited(settings, config.settings.hub):
        while True:
            config = watcher.current()
            report = run_cycle(config, api=api, store=store, device=args.device)
            print(report.summary())
            if args.once:
                return 0
            time.sleep(config.settings.schedule.interval_minutes * 60)


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.hub import make_api, rate_limited
    from bot.serve import cycle_once, serve
    from store.db import Store

    _require_setup()
    settings, config = _load(args)
    watcher = _watch(settings, config)
    api = make_api(settings, need_token=args.with_worker, hub=config.settings.hub)
    with Store.open(settings.mongodb_uri) as store, rate_limited(settings, config.settings.hub):
        if args.once:
            found = cycle_once(watcher, api=api, store=store)
            print(
                f"listed {found.listed} models, queued {found.queued} new revisions, "
                f"re-planned {found.replanned}"
            )
        elif args.with_worker:
            return _serve_with_worker(watcher, api, store, device=args.device)
        else:
            serve(watcher, api=api, store=store)
    return 0


def _serve_with_worker(
    watcher: ConfigWatcher, api: HfApi, store: Store, *, device: str | None
) -> int:
    """The timer and one worker in one process (one container, one GPU); with ``executor:
    ray``, ``ray.max_concurrent_jobs`` worker threads, each job's evaluation a Ray task.

    Returns 1 when a worker thread died (its loop never ends by itself): the process then exits
    non-zero, so that a supervisor restarts it rather than queueing jobs nothing runs.
    """
    import threading

    from bot.jobloop import CycleReport, drain
    from bot.serve import serve
    from bot.worker import Worker

    config = watcher.current()
    stop = threading.Event()
    died: list[str] = []

    def work(worker: Worker) -> None:
        try:
            drain(worker, CycleReport(), once=False, stop=stop)
        except BaseException:
            log.exception("worker %s died", worker.name)
            died.append(worker.name)
            stop.set()  # the whole process stops: a supervisor restarts it

    ray = config.settings.executor == "ray"
    threads = []
    for i in range(config.settings.ray.max_concurrent_jobs if ray else 1):
        worker = Worker(config, api=api, store=store, device=device, watcher=watcher)
        thread = threading.Thread(target=work, args=(worker,), name=f"worker-{i}")
        thread.start()
        threads.append(thread)
        log.info("worker %s started beside the timer", worker.name)
    try:
        serve(watcher, api=api, store=store, stop=stop)
    finally:
        log.info("finishing the current jobs, then stopping")
        stop.set()
        for thread in threads:
            thread.join()
    if died:
        print(f"evalbot: error: worker {', '.join(died)} died; see the log", file=sys.stderr)
        return 1
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from bot.hub import make_api, rate_limited
    from bot.jobloop import CycleReport, drain
    from bot.worker import Worker
    from store.db import Store

    _require_setup()
    settings, config = _load(args)
    api = make_api(settings, need_token=True, hub=config.settings.hub)
    stop = threading.Event()

    def finish_then_stop(signum: int, frame: object) -> None:
        log.info("signal %d: finishing the current job, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, finish_then_stop)
    with Store.open(settings.mongodb_uri) as store, rate_limited(settings, config.settings.hub):
        worker = Worker(
            config,
            api=api,
            store=store,
            device=args.device,
            name=args.name,
            watcher=_watch(settings, config),
        )
        log.info("worker %s started", worker.name)
        report = drain(worker, CycleReport(), once=args.once, stop=stop)
        print(report.summary())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bot.discovery import to_record
    from bot.hub import make_api
    from bot.publisher import read_card
    from bot.self_configuring import configured_for
    from bot.undeclared import with_labels
    from bot.worker import class_groups as module_groups
    from bot.worker import current_results, make_executor, planner_for, save_report
    from cardgen.card import propose_card
    from cardgen.diff import card_diff
    from cardgen.errors import CardError
    from cardgen.pr import pr_body, pr_title
    from evaluators.errors import FileTooLargeError
    from evaluators.executor import CODE_VERSION
    from evaluators.hub import fingerprint
    from store.db import Store

    if args.dry_run and args.open_pr:
        print(
            "evalbot evaluate: --dry-run touches nothing; leave it out to --open-pr",
            file=sys.stderr,
        )
        return 2
    if args.open_pr:  # the PR's results are signed: no evaluation without the key
        from bot.keys import load_signer

        load_signer()
    settings, config = _load(args)
    repo_id, _, revision = args.repo.partition("@")
    if repo_id.startswith("fiftyone/"):  # a FiftyOne zoo model: no card, no PR
        return _evaluate_zoo_model(args, settings, config, repo_id)
    api = make_api(settings, need_token=args.open_pr)
    info = api.model_info(repo_id, revision=revision or None, files_metadata=True)
    model = replace(to_record(info), fingerprint=fingerprint(info.siblings))
    if not model.datasets:  # its training data may be inferred: its labels are one hint
        model = with_labels(api, model, list(info.siblings or ()))
    if args.dry_run:  # the modules its datasets' cards configure too, read and kept in memory
        config = configured_for(config, api=api, store=None, model=model)
        report = make_executor(config, api=api, store=None, device=args.device).evaluate(model)
        records = report.records
    else:
        with Store.open(settings.mongodb_uri) as store:
            if revision:  # an explicit revision: the model's current head stays what it is
                store.record_revision(model)
            else:  # the head, as discovery would see it (its content may be evaluated already)
                store.upsert_model(model)
                model = store.get_model(model.repo_id) or model
            # the modules its datasets' cards configure too, as a cycle would have them
            config = configured_for(config, api=api, store=store, model=model)
            target = replace(model, sha=model.evaluated_sha)
            executor = make_executor(config, api=api, store=store, device=args.device)
            save_report(store, executor.evaluate(target))
            records = current_results(store, planner_for(config), model, target.sha)
            if args.open_pr:
                return _open_pr(config, api, store, model, records)
    _print_records(records)
    if not records:
        print("Nothing new to evaluate: every result for this revision is already stored.")
        return 0
    space_url = config.settings.space_url
    try:
        card = read_card(api, model.repo_id, model.sha)
        change = propose_card(
            card,
            records,
            repo_id=model.repo_id,
            space_url=space_url,
            class_groups=module_groups(config),
        )
    except CardError as exc:
        print(f"No pull request would be opened: the card cannot be edited safely ({exc.reason}).")
        return 0
    except FileTooLargeError as exc:
        print(f"No pull request would be opened: {exc}.")
        return 0
    if not change.changed:
        print("The card already holds these results: no pull request would be opened.")
        return 0
    print(f"\nPull request that would be opened: {pr_title(records)}\n")
    print(
        pr_body(
            change, records, repo_id=model.repo_id, space_url=space_url, code_version=CODE_VERSION
        )
    )
    print(card_diff(card, change.text, repo_id=model.repo_id))
    return 0


def _print_records(records: Sequence[EvaluationRecord]) -> None:
    from store import catalogue

    for record in records:
        spec = catalogue.of(record.task, record.metrics)
        scores = ", ".join(
            f"{m.short} {'n/a' if value is None else f'{value:.4f}'}"
            for m in (spec.headline, spec.second)
            for value in [record.metrics.get(m.key)]
        )
        print(
            f"{record.dataset_id} [{record.split}, {record.variant}] n={record.num_examples}: "
            f"{scores}, {record.runtime.instances_per_s:.1f} examples/s on {record.runtime.device}"
        )


def _open_pr(
    config: BotConfig,
    api: HfApi,
    store: Store,
    model: ModelRecord,
    records: list[EvaluationRecord],
) -> int:
    """Publish one evaluated model as the worker would (same rules, same per-repo lock), and
    say what happened."""
    import os
    import socket

    from bot.publisher import Publisher, publish_locked
    from bot.worker import benchmarks, class_groups

    publisher = Publisher(
        api,
        store,
        config.settings.pull_requests,
        space_url=config.settings.space_url,
        benchmarks=benchmarks(config),
        class_groups=class_groups(config),
    )
    _print_records(records)
    owner = f"evaluate:{socket.gethostname()}:{os.getpid()}"
    result = publish_locked(
        publisher, model, records, owner=owner, ttl_s=config.settings.queue.lease_seconds
    )
    if result is None:
        print("pull request: not opened: another evalbot process is publishing this repo; retry")
        return 1
    where = f" #{result.pr_num} {result.url}" if result.pr_num and result.url else ""
    detail = f" ({result.detail})" if result.detail else ""
    print(f"pull request: {result.outcome.value}{where}{detail}")
    return 0


def _evaluate_zoo_model(
    args: argparse.Namespace, settings: Settings, config: BotConfig, repo_id: str
) -> int:
    """``evalbot evaluate fiftyone/<zoo name>``: a FiftyOne zoo model, stored unless --dry-run."""
    from bot.fiftyone_export import use_store_for_fiftyone
    from bot.hub import make_api
    from bot.worker import save_report
    from evaluators.executor import Executor
    from evaluators.fiftyone_models import zoo_candidates
    from store.db import Store

    modules = [m.module for m in config.modules]
    api = make_api(settings, need_token=False)
    with Store.open(settings.mongodb_uri) as store:
        use_store_for_fiftyone(store)
        model = next((m for m in zoo_candidates(modules) if m.repo_id == repo_id), None)
        if model is None:
            print(f"evalbot: no zoo model {repo_id} of a configured task", file=sys.stderr)
            return 1
        compute = config.settings.compute.compute()
        target = None if args.dry_run else store
        report = Executor(modules, api=api, store=target, compute=compute).evaluate(model)
        if not args.dry_run:
            store.upsert_model(model)
            save_report(store, report)
    for record in report.records:
        print(
            f"{record.dataset_id} [{record.split}, {record.variant}] n={record.num_examples}: "
            f"AP {record.metrics.get('ap') or 0:.4f}, {record.runtime.instances_per_s:.1f} images/s"
        )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.config import load_config
    from bot.errors import BenchmarkTaskError
    from bot.eval_yaml import check_benchmarks
    from evaluators.config import ModuleFile, load_module

    path = Path(args.path)
    if path.is_file():
        module = load_module(path)
        print(f"ok: {path} (module '{module.id}', task {module.task})")
        modules = [ModuleFile(path=path, module=module)]
    else:
        config = load_config(path)
        for item in config.modules:
            print(f"ok: {item.path} (module '{item.module.id}', task {item.module.task})")
        print(f"ok: {config.path} ({len(config.modules)} evaluation modules)")
        modules = config.modules
    for item in modules:
        if item.module.dataset.revision is None:
            print(
                f"warning: {item.path}: module '{item.module.id}': dataset.revision is not "
                f"pinned: results follow the head of {item.module.dataset.head} of "
                f"{item.module.dataset.repo}, which "
                "can change; pin the commit sha you evaluated (`validate --online` prints it)"
            )
    settings = Settings.from_env()
    try:  # a benchmark's task_id against its eval.yaml on the Hub (unchecked when unreachable)
        checks = check_benchmarks(modules, endpoint=settings.hf_endpoint, token=settings.hf_token)
    except BenchmarkTaskError as exc:
        print(f"evalbot: error: {exc}", file=sys.stderr)
        return 2
    for check in checks:
        print(check.line())
    if not args.online:
        return 0
    from bot.online_check import check_modules

    online = check_modules(modules, endpoint=settings.hf_endpoint, token=settings.hf_token)
    for result in online:
        print(result.line(), file=sys.stderr if result.wrong else sys.stdout)
    return 2 if any(result.wrong for result in online) else 0


def cmd_reach(args: argparse.Namespace) -> int:
    """Module selection over a corpus of model cards (one JSON object per line): per task the
    share with a planned evaluation, the reasons for the rest, the datasets not configured."""
    import json

    from bot.reach import ReachError, measure
    from evaluators.config import load_modules

    settings = Settings.from_env(config_dir=args.config)
    modules = [item.module for item in load_modules(settings.config_dir / "tasks")]
    try:
        report = measure(Path(args.corpus), modules)
    except ReachError as exc:
        print(f"evalbot: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return 0


def cmd_modules(args: argparse.Namespace) -> int:
    """The evaluation modules: the YAML ones, then those datasets' cards configured (stored by
    the bot); ``--from-card DATASET``: the YAML a dataset's card derives, read on the Hub."""
    from bot.self_configuring import card_module_files

    settings, config = _load(args)
    if args.from_card:
        return _print_card_module(settings, config, args.from_card)
    from store.db import Store

    for item in config.modules:
        module = item.module
        print(f"{module.id}\t{module.task}\t{module.dataset.repo}\tyaml\t{item.path}")
    on = config.settings.discovery.self_configuring
    source = "card" if on else "card (unused: discovery.self_configuring is off)"
    with Store.open(settings.read_uri, read_only=True) as store:
        for item in card_module_files(store, [m.module for m in config.modules]):
            module = item.module
            print(f"{module.id}\t{module.task}\t{module.dataset.repo}\t{source}\t{item.path}")
    return 0


def _print_card_module(settings: Settings, config: BotConfig, dataset_id: str) -> int:
    from bot.hub import make_api
    from bot.self_configuring import derive, tasks_dir_of
    from evaluators.card_modules import covers, to_yaml
    from evaluators.errors import CardModuleError

    api = make_api(settings, need_token=False, hub=config.settings.hub)
    try:
        derived = derive(api, dataset_id, tasks_dir=tasks_dir_of(config))
    except CardModuleError as exc:
        print(f"evalbot: error: {exc}", file=sys.stderr)
        return 2
    module = derived.module
    at = f" at {derived.revision}" if derived.revision else ""
    comments = [
        f"Derived by evalbot from the train-eval-index of {dataset_id}'s dataset card{at}.",
        f"Review it, then commit it as config/tasks/{module.task}/{module.id}.yaml: a YAML "
        "module always wins over the card.",
        *(f"Check: {warning}" for warning in derived.warnings),
    ]
    if covers([m.module for m in config.modules], dataset_id):
        print(
            f"evalbot: note: a YAML module covers {dataset_id} already: the bot never reads "
            "its card",
            file=sys.stderr,
        )
    print(to_yaml(module, comments=comments), end="")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = Settings.from_env(config_dir=args.config)
    if args.health:
        from bot.health import check_health

        health = check_health(settings)
        print(health.message, file=sys.stdout if health.ok else sys.stderr)
        return 0 if health.ok else 1
    from store.db import Store

    with Store.open(settings.read_uri, read_only=True) as store:
        print("jobs:", dict(sorted(store.job_counts().items())) or "none")
        print("failures by reason:", dict(sorted(store.failures_by_reason().items())) or "none")
        for module, reasons in sorted(store.failures_by_module().items()):
            print(f"  module {module}:", dict(sorted(reasons.items())))
        problems = store.module_problems_by_id()
        print(f"module problems: {len(problems) or 'none'}")
        for module, problem in sorted(problems.items()):
            waiting = len(store.blocked_jobs(module))
            print(f"  module {module}: {problem['error']} ({waiting} jobs wait for a fix)")
        errors = store.jobs_with_status("error", limit=10)
        if errors:
            print("jobs ended by unexpected errors (evalbot requeue --model to retry):")
            for job in errors:
                print(f"  {job['repo_id']}@{job['sha'][:8]}: {job.get('error')}")
        print("pull requests:", dict(sorted(store.pr_counts().items())) or "none")
        declined = store.declined_models()
        print(f"declined: {len(declined)} repos closed evalbot's PR (no further PRs)")
        for doc in declined[:10]:
            info = doc["declined"]
            print(f"  {doc['_id']}: PR #{info['num']} closed by {info.get('by') or 'the author'}")
        differing = store.discrepancies()
        print(f"claims audit: {len(differing)} self-reported values differ from ours")
        for claim in differing[:10]:
            print(
                f"  {claim.model_id}: {claim.metric} on {claim.dataset_id} {claim.split}: "
                f"{claim.verdict} (claims {claim.claimed:.4f}, measured {claim.measured:.4f})"
            )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Coverage (:mod:`bot.coverage`): found, queued, evaluated and why not, per source, task,
    dataset, library and week; variants and compatible datasets; self-reported values."""
    import json

    from bot.coverage import measure
    from store.db import Store

    settings, config = _load(args)
    with Store.open(settings.read_uri, read_only=True) as store:
        coverage = measure(store, [m.module for m in config.modules])
    if args.json:
        print(json.dumps(coverage.as_json(), indent=2))
    else:
        print(coverage.text())
    return 0


def cmd_label_errors(args: argparse.Namespace) -> int:
    """Likely label errors of a dataset's splits, from the stored outcomes of its models."""
    import csv

    from store.db import Store
    from store.export import label_errors

    settings = Settings.from_env(config_dir=args.config)
    with Store.open(settings.read_uri, read_only=True) as store:
        found = label_errors(
            store, dataset_id=args.dataset, min_models=args.min_models, min_share=args.min_share
        )
    found = [f for f in found if args.split is None or f.split == args.split]
    if not found:
        print(
            f"No classification results with per-example outcomes on {args.dataset}"
            + (f" ({args.split})" if args.split else "")
            + ": evaluate models on it first (evalbot evaluate REPO)."
        )
        return 1
    rows = [row for f in found for row in f.rows()]
    for f in found:
        config = f" ({f.dataset_config})" if f.dataset_config else ""
        print(
            f"{f.dataset_id}{config} {f.split} @ {f.dataset_revision[:8]}: "
            f"{len(f.report.issues)} likely label errors among {f.report.examples} examples, "
            f"from {f.report.models} models. {f.report.method}"
        )
        for issue in f.rows()[: args.show]:
            print(
                f"  example {issue['example_id']}: labelled {issue['given']!r}, "
                f"{issue['agree']} of {issue['models']} models say {issue['suggested']!r} "
                f"(mean confidence {issue['confidence']:.2f})"
            )
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as file:
            names = list(rows[0]) if rows else ["dataset_id", "split", "example_id"]
            writer = csv.DictWriter(file, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {len(rows)} rows to {args.csv}")
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    from bot.replan import replan
    from bot.self_configuring import with_card_modules
    from bot.worker import planner_for
    from store.db import Store

    settings, config = _load(args)
    with Store.open(settings.mongodb_uri) as store:
        planner = planner_for(with_card_modules(config, store))  # datasets' cards' modules too
        unknown = sorted(set(args.module) - set(planner.digests))
        if unknown:
            print(
                f"evalbot requeue: no module {', '.join(unknown)} in {config.path.parent}",
                file=sys.stderr,
            )
            return 2
        if args.module and not args.reason and not args.model:
            for module in args.module:  # a module's dataset problem ends with an operator's word
                store.clear_module_problem(module)
        report = replan(
            store,
            planner,
            models=set(args.model) or None,
            modules=set(args.module) or None,
            reasons=set(args.reason) or None,
            force=True,
        )
    print(f"queued {report.total} of {report.models} models matched")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from sandbox.cli import main as sandbox_main

    return sandbox_main(args.sandbox_args)


def cmd_space(args: argparse.Namespace) -> int:
    from space.app import serve, settings, source_from
    from space.errors import SpaceError

    try:
        found = settings()  # EVALBOT_RESULTS_DIR / _DATASET / _REVISION, evalbot_space.json
        if args.data_dir or args.dataset:
            found.update(data_dir=args.data_dir, dataset=args.dataset)
        if args.revision:
            found["revision"] = args.revision
        if not (found["data_dir"] or found["dataset"]):
            found["dataset"] = _results_dataset(args)  # results_dataset of bot.yaml
        source = source_from(**found)
    except SpaceError as exc:
        print(f"evalbot: error: {exc}", file=sys.stderr)
        return 2
    serve(source, host=args.host, port=args.port)
    return 0


def cmd_space_deploy(args: argparse.Namespace) -> int:
    from huggingface_hub import HfApi

    from bot.errors import SpaceDeployError, TokenError
    from bot.space_deploy import deploy_space

    settings = Settings.from_env(config_dir=args.config)
    dataset = _results_dataset(args)  # --dataset, else results_dataset of bot.yaml
    if dataset is None:
        raise SpaceDeployError(
            "no results dataset for the Space to read: pass --dataset ORG/NAME or set "
            "results_dataset in bot.yaml"
        )
    if settings.hf_token is None:
        raise TokenError(
            f"HF_TOKEN is needed to deploy the Space {args.repo}: set it to a token that can "
            f"write to the namespace {args.repo.split('/')[0]}"
        )
    api = HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token)
    deploy_space(args.repo, dataset=dataset, api=api, on_step=print)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from bot.verify import print_public_key, verify_repo

    if args.print_public_key:
        return print_public_key()
    if args.repo is None:
        print("evalbot verify: give ORG/MODEL[@REV] or --print-public-key", file=sys.stderr)
        return 2
    dataset = _results_dataset(args)
    if dataset is None:
        print(
            "evalbot verify: results_dataset is null in bot.yaml: give --dataset", file=sys.stderr
        )
        return 2
    settings = Settings.from_env(config_dir=args.config)
    return verify_repo(args.repo, settings=settings, dataset=dataset, public_key=args.public_key)


def _results_dataset(args: argparse.Namespace) -> str | None:
    """``--dataset``, else ``results_dataset`` of bot.yaml (its default without a config)."""
    from bot.config import BotSettings

    if args.dataset:
        return str(args.dataset)
    if not (Settings.from_env(config_dir=args.config).config_dir / "bot.yaml").is_file():
        return BotSettings().results_dataset
    return _load(args)[1].settings.results_dataset


def cmd_publish_results(args: argparse.Namespace) -> int:
    from huggingface_hub.errors import HfHubHTTPError

    from bot.hub import make_api
    from bot.keys import load_signer
    from bot.ratelimit import is_transient, status_of
    from bot.results_dataset import publish
    from store.db import Store

    settings, config = _load(args)
    repo_id = args.dataset or config.settings.results_dataset  # the config is loaded once
    if repo_id is None:
        print(
            "evalbot: error: results_dataset is null in bot.yaml: give --dataset", file=sys.stderr
        )
        return 2
    signer = load_signer()
    api = make_api(settings, need_token=True, hub=config.settings.hub)
    with Store.open(settings.mongodb_uri) as store:
        try:
            report = publish(
                store, api, repo_id, signer=signer, space_url=config.settings.space_url
            )
        except HfHubHTTPError as exc:
            if not is_transient(exc):
                raise
            print(
                f"evalbot: the Hub answered HTTP {status_of(exc)}; try again later", file=sys.stderr
            )
            return 1
    print(report.summary())
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from bot.keys import create_signer, load_signer, print_key, signing_key_path

    path = signing_key_path()
    if args.action == "create":
        print_key(create_signer(path), path, created=True)
    else:
        print_key(load_signer(path), path)
    return 0


def cmd_export_fiftyone(args: argparse.Namespace) -> int:
    from bot.fiftyone_export import ExportError, export_fiftyone
    from bot.hub import make_api
    from store.db import Store

    settings, config = _load(args)
    api = make_api(settings, need_token=False)
    with Store.open(settings.read_uri, read_only=True) as store:
        try:
            summary = export_fiftyone(
                args.model,
                args.dataset,
                store=store,
                modules=[m.module for m in config.modules],
                api=api,
                media_dir=Path(args.media_dir).expanduser(),
                variant=args.variant,
                name=args.name,
            )
        except ExportError as exc:
            print(f"evalbot: error: {exc}", file=sys.stderr)
            return 1
    print(
        f"FiftyOne dataset '{summary.name}': {summary.samples} samples, evaluation key "
        f"'{summary.eval_key}' (per-sample {summary.eval_key}_tp/_fp/_fn); FiftyOne mAP "
        f"{summary.fiftyone_map}, evalbot AP {summary.evalbot_ap}"
    )
    print(
        'Open it: python -c "import fiftyone as fo; '
        f"fo.launch_app(fo.load_dataset('{summary.name}')).wait()\""
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(
        root=args.dir, space_port=args.port, hub_port=args.hub_port, serve=not args.no_serve
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalbot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config folder (default: $EVALBOT_CONFIG or ./config)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run bot cycles (discover, evaluate, store, open PRs)")
    run.add_argument("--once", action="store_true", help="one cycle, then exit")
    run.add_argument(
        "--device", default=None, help="torch device (default: cuda if present, else cpu)"
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="discover on a schedule and queue jobs (no evaluation)")
    serve.add_argument("--once", action="store_true", help="one discovery now, then exit")
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="also process the queue in this process (one container: timer and worker; "
        "executor: ray: ray.max_concurrent_jobs workers submitting Ray tasks)",
    )
    serve.add_argument("--device", default=None, help="the worker's torch device")
    serve.set_defaults(func=cmd_serve)

    work = sub.add_parser("worker", help="process queued jobs (evaluate, store, open PRs)")
    work.add_argument("--once", action="store_true", help="drain the queue, then exit")
    work.add_argument("--name", default=None, help="worker name (default: host:pid:id)")
    work.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    work.set_defaults(func=cmd_worker)

    ev = sub.add_parser("evaluate", help="evaluate one repo and print the card change")
    ev.add_argument("repo", help="ORG/MODEL or ORG/MODEL@REVISION")
    ev.add_argument("--dry-run", action="store_true", help="touch nothing: no database, no PR")
    ev.add_argument(
        "--open-pr",
        action="store_true",
        help="store the results and open (or update) the PR as the bot does; needs HF_TOKEN",
    )
    ev.add_argument("--device", default=None)
    ev.set_defaults(func=cmd_evaluate)

    val = sub.add_parser("validate", help="check the config YAML files")
    val.add_argument("path", nargs="?", default="config", help="config folder or one module file")
    val.add_argument(
        "--online",
        action="store_true",
        help="also check each module against its dataset on the Hub (HF_ENDPOINT, with HF_TOKEN): "
        "revision, config, split, columns and class names",
    )
    val.set_defaults(func=cmd_validate)

    reach = sub.add_parser(
        "reach", help="how many models of a card corpus the modules would evaluate, per task"
    )
    reach.add_argument(
        "corpus",
        help="JSONL, one model card per line: model_id, pipeline_tag, library, front_matter",
    )
    reach.add_argument("--json", action="store_true", help="machine-readable output")
    reach.set_defaults(func=cmd_reach)

    mods = sub.add_parser(
        "modules", help="list the evaluation modules (YAML and datasets' cards) with their source"
    )
    mods.add_argument(
        "--from-card",
        metavar="DATASET",
        default=None,
        help="print the module YAML that DATASET's card (train-eval-index) on the Hub derives",
    )
    mods.set_defaults(func=cmd_modules)

    st = sub.add_parser("status", help="queue, failures by reason, PRs by state")
    st.add_argument(
        "--health",
        action="store_true",
        help="exit 0 when MongoDB answers and this host's workers beat, else 1 with the reason "
        "(the Docker HEALTHCHECK; loads no config)",
    )
    st.set_defaults(func=cmd_status)

    le = sub.add_parser(
        "label-errors",
        help="examples whose label most models evaluated on them contradict (confident learning)",
    )
    le.add_argument("dataset", help="the dataset's Hub id, e.g. dair-ai/emotion")
    le.add_argument("--split", help="only this split")
    le.add_argument("--min-models", type=int, default=5, help="models an example needs (5)")
    le.add_argument(
        "--min-share",
        type=float,
        default=0.5,
        help="share of those models that must agree on another class, exceeded (0.5)",
    )
    le.add_argument("--show", type=int, default=20, help="examples printed per split (20)")
    le.add_argument("--csv", help="write every listed example to this CSV file")
    le.set_defaults(func=cmd_label_errors)

    stats = sub.add_parser(
        "stats", help="coverage: models found, queued, evaluated and why not, per view"
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=cmd_stats)

    keys = sub.add_parser(
        "keys", help="the signing key (EVALBOT_SIGNING_KEY): create it once, show it"
    )
    keys.add_argument(
        "action",
        choices=["create", "show"],
        help="create: a new key, mode 0600 (never replaces one); show: its id and public key",
    )
    keys.set_defaults(func=cmd_keys)

    rq = sub.add_parser(
        "requeue", help="queue models again: by module, failure reason or name (operators)"
    )
    rq.add_argument(
        "--module", action="append", default=[], help="models this module evaluates (repeatable)"
    )
    rq.add_argument(
        "--reason",
        action="append",
        default=[],
        help="failed models with this failure reason, e.g. 'unknown labels' (repeatable)",
    )
    rq.add_argument("--model", action="append", default=[], help="ORG/NAME (repeatable)")
    rq.set_defaults(func=cmd_requeue)

    sb = sub.add_parser(
        "sandbox", help="the local stand-in for the Hub: serve | seed", add_help=False
    )
    sb.add_argument("sandbox_args", nargs=argparse.REMAINDER)
    sb.set_defaults(func=cmd_sandbox)

    sp = sub.add_parser("space", help="serve the Gradio Space; `space deploy`: push it to the Hub")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=7860)
    sp_data = sp.add_mutually_exclusive_group()
    sp_data.add_argument(
        "--data-dir", default=None, help="a folder holding data/<table>.parquet (a local copy)"
    )
    sp_data.add_argument(
        "--dataset",
        default=None,
        help="the results dataset repo to read (default: $EVALBOT_RESULTS_DATASET, then "
        "results_dataset of bot.yaml)",
    )
    sp.add_argument("--revision", default=None, help="a branch or commit of it (default: main)")
    sp.set_defaults(func=cmd_space)
    space_sub = sp.add_subparsers(dest="space_command", metavar="deploy")
    deploy = space_sub.add_parser(
        "deploy",
        help="build the Space (app, requirements, README config) and commit it to a Space repo",
    )
    deploy.add_argument("--repo", required=True, help="the Space repo, ORG/NAME")
    deploy.add_argument(
        "--dataset",
        default=None,
        help="the results dataset it reads, ORG/NAME (default: results_dataset of bot.yaml)",
    )
    deploy.set_defaults(func=cmd_space_deploy)

    demo = sub.add_parser("demo", help="sandbox Hub + embedded MongoDB + one cycle + the Space")
    demo.add_argument(
        "--dir", type=Path, default=None, help="demo state (default ~/.cache/evalbot/demo)"
    )
    demo.add_argument("--port", type=int, default=7860, help="Space port")
    demo.add_argument("--hub-port", type=int, default=8900, help="sandbox Hub port")
    demo.add_argument(
        "--no-serve", action="store_true", help="exit after the cycle instead of serving"
    )
    demo.set_defaults(func=cmd_demo)

    ver = sub.add_parser(
        "verify", help="check a card's evalbot values against the signed results dataset"
    )
    ver.add_argument("repo", nargs="?", help="ORG/MODEL, ORG/MODEL@REVISION or ORG/MODEL@refs/pr/N")
    ver.add_argument(
        "--dataset", default=None, help="the results dataset (default: results_dataset of bot.yaml)"
    )
    ver.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="PEM of evalbot's published key, to trust only rows it signed (default: the keys "
        "the dataset publishes, which proves integrity, not origin)",
    )
    ver.add_argument(
        "--print-public-key", action="store_true", help="print evalbot's public key (PEM)"
    )
    ver.set_defaults(func=cmd_verify)

    pub = sub.add_parser(
        "publish-results", help="commit the changed tables to the results dataset, once"
    )
    pub.add_argument(
        "--dataset", default=None, help="the dataset repo (default: results_dataset of bot.yaml)"
    )
    pub.set_defaults(func=cmd_publish_results)

    fo_export = sub.add_parser(
        "export-fiftyone", help="write a stored detection evaluation to a FiftyOne dataset"
    )
    fo_export.add_argument("model", help="the evaluated model, e.g. facebook/detr-resnet-50")
    fo_export.add_argument("dataset", help="the Hub dataset id, e.g. detection-datasets/coco")
    fo_export.add_argument("--variant", default="original", help="e.g. flipped (default: original)")
    fo_export.add_argument("--name", default=None, help="FiftyOne dataset name (default: derived)")
    fo_export.add_argument(
        "--media-dir", default="~/.cache/evalbot/fiftyone", help="where the images are written"
    )
    fo_export.set_defaults(func=cmd_export_fiftyone)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    import httpx2
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    from bot.errors import (
        HubUnreachableError,
        SigningKeyExistsError,
        SigningKeyMissingError,
        SpaceDeployError,
        StartupError,
        TokenError,
    )
    from cardgen.errors import SigningKeyError
    from evaluators.containment import ContainmentError
    from evaluators.errors import ConfigError, EvaluationError
    from store.errors import StoreError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except (
        ConfigError,
        StoreError,
        HubUnreachableError,
        TokenError,
        StartupError,
        SigningKeyMissingError,
        SigningKeyExistsError,
        SigningKeyError,
        SpaceDeployError,
        ContainmentError,
    ) as exc:
        print(f"evalbot: error: {exc}", file=sys.stderr)
        return 2
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        print(f"evalbot: error: {exc.server_message or exc}", file=sys.stderr)
        return 2
    except httpx2.TransportError as exc:
        endpoint = Settings.from_env().hf_endpoint
        print(f"evalbot: error: {HubUnreachableError(endpoint, str(exc))}", file=sys.stderr)
        return 2
    except EvaluationError as exc:
        print(
            f"evalbot: {exc.repo_id} cannot be evaluated: {exc.reason.value}: {exc.detail}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
