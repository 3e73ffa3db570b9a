"""Push a model folder to the Hub, so others can `--model org/name --revision COMMIT` it.

The folder is reloaded strictly first (a model that would not load is never published),
then `HfApi.create_repo(exist_ok=True)` and `upload_folder` send exactly the model's files
(config.json, model.safetensors and README.md if present; checkpoints or stray files in the
folder stay home). The commit hash comes back, so users can pin the revision they tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import PublishError, WeightsError
from . import __version__
from .hub import LIBRARY_NAME, MODEL_CARD, MODEL_CONFIG, MODEL_WEIGHTS, ModelSource, http_module, load_model_files
from .hub import _first_line as first_line
from .hub import _HUB_ID as HUB_ID

__all__ = ["PushResult", "check_repo_id", "push_model"]


@dataclass(frozen=True)
class PushResult:
    """What a push made: the commit to pin, and where to see it."""

    repo_id: str
    commit: str  # the full commit hash: pass it as --revision
    commit_url: str
    revision: str  # the branch written to ("main" unless --revision), or the pull request's ref
    pr_url: str | None  # with create_pr: the pull request to review and merge


def check_repo_id(repo_id: str) -> str:
    """`repo_id` if it is a Hub id org/name; else a `PublishError` that says what one looks like."""
    if not HUB_ID.fullmatch(repo_id) or ".." in repo_id or repo_id.startswith((".", "-")):
        raise PublishError(f"not a Hub repository id: {repo_id!r} (expected org/name, e.g. acme/uhdrestore-rain)")
    return repo_id


def check_model_folder(folder: Path) -> str:
    """Load `folder` strictly (as `fix --model` would); returns the weights' sha256. Raises WeightsError."""
    if not folder.is_dir():
        raise WeightsError(f"not a model folder: {folder} (expected a folder with {MODEL_CONFIG} and {MODEL_WEIGHTS})")
    for name in (MODEL_CONFIG, MODEL_WEIGHTS):
        if not (folder / name).is_file():
            raise WeightsError(f"model folder {folder} has no {name}")
    source = ModelSource(str(folder), "local", folder / MODEL_CONFIG, folder / MODEL_WEIGHTS, None)
    return load_model_files(source).sha256


def push_model(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
) -> PushResult:
    """Reload `folder` strictly, then create `repo_id` if needed and commit the model's files to it.

    `revision` is a branch (created from main if missing); with `create_pr` the commit
    opens a pull request against it instead. `private` applies to a new repository only.
    Raises `WeightsError` if the folder does not load and `PublishError` if the Hub refuses.
    """
    from huggingface_hub import HfApi, constants, get_token

    folder = Path(folder).expanduser()
    check_repo_id(repo_id)
    if create_pr and revision not in (None, "main"):
        raise PublishError(f"a pull request is opened against main: drop --revision {revision}, or push to the "
                           "branch without --create-pr")
    sha256 = check_model_folder(folder)
    hub = endpoint or constants.ENDPOINT
    token = token or get_token()
    if token is None:
        raise PublishError(f"not logged in to the Hub at {hub}: run `hf auth login` or set HF_TOKEN "
                           "to a token with write access")
    api = HfApi(endpoint=endpoint, token=token, library_name=LIBRARY_NAME, library_version=__version__)
    files = [name for name in (MODEL_CONFIG, MODEL_WEIGHTS, MODEL_CARD) if (folder / name).is_file()]
    message = commit_message or f"Upload uhdrestore model (weights sha256 {sha256[:12]})"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None and not create_pr:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(folder_path=folder, repo_id=repo_id, revision=revision, create_pr=create_pr,
                                 commit_message=message, allow_patterns=files)
    except Exception as exc:
        error = _push_error(exc, repo_id, hub)
        if error is None:
            raise
        raise error from exc
    ref = f"refs/pr/{info.pr_num}" if info.pr_num is not None else (revision or "main")
    return PushResult(repo_id, info.oid, info.commit_url, ref, info.pr_url)


def _push_error(exc: Exception, repo_id: str, hub: str) -> PublishError | None:
    """A one-line PublishError for a huggingface_hub failure while pushing, or None if `exc` is not one."""
    from huggingface_hub import errors as hf

    if isinstance(exc, hf.HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401:
            return PublishError(f"the Hub at {hub} refused the token ({first_line(exc)}): log in again with "
                                "`hf auth login` or set HF_TOKEN")
        if status in (403, 404) or isinstance(exc, hf.RepositoryNotFoundError):
            return PublishError(f"no write access to {repo_id} on the Hub at {hub} ({first_line(exc)}): check "
                                "the organisation name and that your token may write to it")
        return PublishError(f"the Hub at {hub} refused the push to {repo_id}: {first_line(exc)}")
    if isinstance(exc, (http_module().HTTPError, ConnectionError, TimeoutError)):
        return PublishError(f"cannot reach the Hub at {hub}: {first_line(exc)} (nothing was pushed to {repo_id})")
    if isinstance(exc, ValueError):  # huggingface_hub's own checks: invalid README metadata, bad revision name
        return PublishError(f"the Hub refused the push to {repo_id}: {first_line(exc)}")
    return None
