"""`sovtrain cards ...`: validate, approve and report on the data and model cards, and write
a model card's weight digests.

Kept apart from `sovtrain.cli` so the compliance commands stay small and import nothing heavy
(no torch): a reviewer runs them on a laptop. Errors are `SovtrainError`s, which `cli.main`
prints without a traceback and turns into exit code 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from sovtrain.cli.options import ReportFormat, ReportFormatOpt, ReportOutputOpt, emit_report
from sovtrain.governance.cards import (
    CardCheck,
    CardError,
    all_card_files,
    approve,
    check_cards,
)
from sovtrain.governance.policy import Policy, cards_dir, load_policy
from sovtrain.governance.report import policy_problems, render, report_for_dir

cards_app = typer.Typer(
    help="Validate, approve and report on data and model cards (data_cards/, or "
    "$SOVTRAIN_CARDS_DIR).",
    no_args_is_help=True,
)


def _policy_if_present() -> Policy | None:
    """The residency policy when the cards directory has one; a malformed one is an error."""
    path = cards_dir() / "residency.yaml"
    if not path.is_file():
        typer.echo(f"note: no residency policy at {path}; region names not checked", err=True)
        return None
    return load_policy(path)


def _with_policy(checks: list[CardCheck], policy: Policy | None) -> list[CardCheck]:
    """Add the policy cross-check (unknown region names) to the schema problems."""
    if policy is not None:
        for check in checks:
            if check.loaded is not None:
                check.problems.extend(policy_problems(check.loaded.card, policy))
    return checks


def _expand(paths: list[Path]) -> list[Path]:
    """Directories become their cards; the policy file is skipped so `data_cards/*` works."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(all_card_files(path))
        elif path.name != "residency.yaml":
            files.append(path)
    return files


@cards_app.command("validate")
def cards_validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Card files or directories of cards (default: every card in the cards "
            "directory). The residency policy is never a card.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check cards against the schema and the residency policy's regions.

    Prints one line per card: `ok` with its id@version, content digest and review state, or
    `FAIL` followed by every problem (file and dotted field). Exits 2 if any card has a
    problem. A valid card still needs a current approval before it may be used.
    """
    files = _expand(paths or [cards_dir()])
    if not files:
        raise CardError(f"no cards found in {', '.join(map(str, paths or [cards_dir()]))}")
    checks = _with_policy(check_cards(files), _policy_if_present())
    today = dt.date.today()
    for check in checks:
        if not check.problems and check.loaded is not None:
            review = check.loaded.review_problem(today) or "approved"
            placeholders = getattr(check.loaded.card, "placeholders", [])
            if placeholders:  # valid, but neither approvable nor admissible yet
                review += f"; {len(placeholders)} PLACEHOLDER weight digest(s): not usable"
            typer.echo(
                f"ok   {check.path}  {check.loaded.card.ref}  "
                f"digest={check.loaded.digest[:12]}  review: {review}"
            )
            continue
        typer.echo(f"FAIL {check.path}: {len(check.problems)} problem(s)")
        for problem in check.problems:
            typer.echo(f"     {problem}")
    failed = sum(bool(c.problems) for c in checks)
    if failed:
        typer.echo(f"{failed} of {len(checks)} card(s) failed validation", err=True)
        raise typer.Exit(code=2)


@cards_app.command("approve")
def cards_approve(
    card_id: Annotated[str, typer.Argument(help="Card id (its file name stem).")],
    reviewer: Annotated[
        str, typer.Option("--reviewer", help="Who reviewed it (name or role), recorded.")
    ],
    days: Annotated[
        int, typer.Option("--days", min=1, help="Days the approval stays valid.")
    ] = 365,
    notes: Annotated[
        str, typer.Option("--notes", help="Conditions or remarks, recorded with the approval.")
    ] = "",
) -> None:
    """Record an approval of the card's current content in its `review:` block.

    Refuses a card that fails validation. The approval pins the content digest (the file
    without its review block): any later edit elsewhere in the card voids it until the card
    is approved again.
    """
    if not reviewer.strip():
        raise CardError("--reviewer must name who reviewed the card")
    root = cards_dir()
    by_id = {path.stem: path for path in all_card_files(root)}
    path = by_id.get(card_id)
    if path is None:
        known = ", ".join(sorted(by_id)) or "none"
        raise CardError(f"no card {card_id!r} in {root} (cards: {known})")
    check = _with_policy(check_cards([path]), _policy_if_present())[0]
    if check.problems:
        lines = "\n  ".join(check.problems)
        raise CardError(f"{path}: refusing to approve a card that fails validation:\n  {lines}")
    approved = approve(path, reviewer.strip(), dt.date.today(), valid_days=days, notes=notes)
    review = approved.card.review
    assert review is not None and review.expires is not None
    typer.echo(
        f"approved {approved.card.ref} by {review.reviewer} until {review.expires.isoformat()}"
    )
    typer.echo(f"digest {review.approved_digest}")


@cards_app.command("report")
def cards_report(
    fmt: ReportFormatOpt = ReportFormat.md,
    output: ReportOutputOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Evaluate expiries and deadlines as of YYYY-MM-DD (default: today), e.g. to "
            "see what lapses before the next review.",
            metavar="DATE",
        ),
    ] = None,
    transfers: Annotated[
        list[str] | None,
        typer.Option(
            "--transfers",
            help="Executed transfers to show (repeatable): a transfer.json, a prepared "
            "directory holding one, or a transfer ledger .jsonl (path or storage URI). "
            "Default: this site's ledger, $SOVTRAIN_CACHE/audit/transfers/*.jsonl.",
            metavar="PATH_OR_URI",
        ),
    ] = None,
) -> None:
    """Review-ready report of every card: summary, validation problems, PII, transfers
    (filed and executed), retention, approval state and the dataset x region matrix.

    Cards that fail validation are listed with their problems rather than left out. Each
    executed transfer is listed under the cards whose data crossed: when, from which region
    to which, under which filing, bytes, manifest digest and the de-identification evidence.
    """
    from sovtrain import storage
    from sovtrain.governance.transfers_done import TransferRecordError, bucket_endpoints, collect

    today = dt.date.today()
    if as_of is not None:
        try:
            today = dt.date.fromisoformat(as_of)
        except ValueError:
            raise CardError(f"--as-of: expected YYYY-MM-DD, got {as_of!r}") from None
    policy = _policy_if_present()
    endpoints = bucket_endpoints(policy) if policy is not None else {}
    if endpoints:  # records in object storage are read from their own region's endpoint
        storage.set_endpoints(endpoints)
    try:
        executed = collect(transfers)
    except TransferRecordError as err:
        raise CardError(f"--transfers: {err}") from None
    emit_report(render(report_for_dir(cards_dir(), today, executed), fmt.value), output, fmt)


@cards_app.command("model-digests")
def cards_model_digests(
    directory: Annotated[Path, typer.Argument(help="The base model's directory (an HF download).")],
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri",
            help="weights.uri to print (default: DIRECTORY, resolved): the location "
            "model.init_from will name, when it differs from where DIRECTORY is mounted here.",
        ),
    ] = None,
) -> None:
    """Print a model card's `weights:` block for DIRECTORY: path, size and sha256 of every
    file at its top level (hidden files left out), ready to paste into the card.

    Files are streamed in 8 MiB chunks and the digests cached in $SOVTRAIN_CACHE, so the
    first admission of the base on this machine does not hash it again. Progress goes to
    stderr, the YAML block to stdout.
    """
    import yaml

    from sovtrain.governance.base_weights import digest_files, directory_files

    root = directory.expanduser().resolve()
    names = directory_files(root)
    if not names:
        raise CardError(f"{root}: no files to list in a model card")
    total = sum((root / n).stat().st_size for n in names)
    typer.echo(f"hashing {len(names)} file(s), {total / 1e9:.2f} GB in {root}", err=True)
    digests = digest_files(str(root), [(n, None) for n in names])
    failed = [d for d in digests if d.sha256 is None]
    if failed:
        raise CardError(f"{root / failed[0].path}: {failed[0].error or 'could not be hashed'}")
    files = [{"path": d.path, "size": d.size, "sha256": d.sha256} for d in digests]
    block = {"weights": {"uri": uri or str(root), "files": files}}
    typer.echo(f"# sha256 of every file in {root}, {dt.date.today().isoformat()}")
    typer.echo(yaml.safe_dump(block, sort_keys=False).rstrip())
