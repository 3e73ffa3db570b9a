"""Turn a model spec ("default", a folder, a .safetensors file or a Hub id) into a loaded network.

A model is a folder with `config.json` (a `ModelConfig`) and `model.safetensors`; the weights
file also carries the config and the writing version in its metadata, so that it loads alone
when copied out of its folder (a file with no such metadata needs `config.json` beside it). Loading
is strict: unknown config keys, missing or extra tensors, wrong shapes and NaN/inf are
errors, and weights are read with safetensors only (no pickle). Hub models go through
`hf_hub_download`, so the HF cache, `HF_ENDPOINT`, `HF_HUB_OFFLINE` and tokens behave as
users expect; its errors become one-line `WeightsError`s.

A spec that looks like a path (it starts with `.`, `/` or `~`, holds `./`, ends in
`.safetensors`, or its parent folder exists) and is missing is a local error at once, never
a Hub id. Before downloading, one HEAD request without retries (at most
`HUB_PROBE_TIMEOUT` seconds) checks that the Hub answers: when it does not, the cache is
used if it holds the model, and otherwise the error comes within seconds instead of after
the library's retries (1 + 2 + 4 + 8 + 8 s).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_tensors

from uhdrestore import __version__
from uhdrestore.atomic import atomic_path
from uhdrestore.errors import OutputError, WeightsError
from uhdrestore.models import ModelConfig, build_model

__all__ = [
    "MODEL_CONFIG", "MODEL_WEIGHTS", "MODEL_CARD", "ModelSource", "LoadedModel", "ModelInfo",
    "bundled_weights_dir", "build_restorer", "resolve_model", "load_model", "load_model_files", "save_model",
    "list_models", "download_file", "check_tensors", "file_sha256",
]

MODEL_CONFIG = "config.json"
MODEL_WEIGHTS = "model.safetensors"
MODEL_CARD = "README.md"
# Keys of the safetensors metadata (strings only) that make a weights file loadable on its own.
METADATA_CONFIG = "uhdrestore.config"
METADATA_VERSION = "uhdrestore.version"

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
LIBRARY_NAME = "uhdrestore"  # with __version__, in the user agent of every Hub request
HUB_PROBE_TIMEOUT = 4.0  # seconds the first request to the Hub may take before it counts as unreachable
_MAX_NAMED = 5  # tensor names listed per kind of mismatch; more would bury the message

M = TypeVar("M", bound=torch.nn.Module)  # the network a builder makes: a restorer, or the Perceiver
# config.json's contents -> (its config object, a fresh network): how a model folder becomes a network.
Builder = Callable[[dict[str, Any]], tuple[Any, M]]


def build_restorer(data: dict[str, Any]) -> tuple[ModelConfig, torch.nn.Module]:
    config = ModelConfig.from_dict(data)
    return config, build_model(config)


@dataclass(frozen=True)
class ModelSource:
    """Where a model's two files are, and how the spec was understood."""

    spec: str  # what the user passed: "default", a path, or "org/name"
    kind: Literal["bundled", "local", "hub"]
    config_path: Path | None  # None: the config is read from the weights file's metadata
    weights_path: Path
    revision: str | None  # resolved commit hash for Hub models, else None


@dataclass
class LoadedModel(Generic[M]):
    """A ready network plus what a report needs to say which one ran."""

    module: M  # eval mode, CPU, float32
    config: Any  # ModelConfig for restorers, PerceiverConfig for the perceiver
    source: ModelSource
    sha256: str  # of the weights file
    parameters: int


@dataclass(frozen=True)
class ModelInfo:
    """A model usable without a download (for listing)."""

    name: str  # "default" or the Hub id
    kind: str  # "bundled" or "hub"
    location: Path  # the folder holding config.json and model.safetensors
    revision: str | None  # commit hash of a cached Hub snapshot
    size_bytes: int


def bundled_weights_dir() -> Path:
    """The folder of the default model shipped inside the package (it may be empty)."""
    try:
        root = resources.files("uhdrestore.weights")
    except ModuleNotFoundError:  # a source checkout that was never installed
        return Path(__file__).resolve().parent.parent / "weights"
    if isinstance(root, Path):
        return root
    return Path(str(root.joinpath(MODEL_CONFIG))).parent  # a namespace package's MultiplexedPath


def resolve_model(
    spec: str = "default",
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    bundled: Path | None = None,
) -> ModelSource:
    """Find (downloading from the Hub if needed) the config and weights that `spec` names.

    "default" is the folder `bundled` (default: the bundled restorer). The other keyword
    options apply to Hub ids only. Raises `WeightsError`.
    """
    if spec == "default":
        folder = bundled or bundled_weights_dir()
        if not _is_model_folder(folder):
            raise WeightsError(
                f"the bundled default model is missing from this installation ({folder}): reinstall "
                "uhdrestore, or pass --model with a model folder or a Hub id (org/name)")
        source = ModelSource(spec, "bundled", folder / MODEL_CONFIG, folder / MODEL_WEIGHTS, None)
    elif spec and Path(spec).expanduser().exists():
        source = _local_source(spec, Path(spec).expanduser())
    elif (reason := _path_like(spec)) is not None:
        raise WeightsError(f"no such model folder or file: {spec} ({reason})")
    elif _HUB_ID.fullmatch(spec):
        return _hub_source(spec, revision=revision, endpoint=endpoint, cache_dir=cache_dir,
                           local_files_only=local_files_only)
    else:
        raise WeightsError(f"no such model: {spec} (expected 'default', a model folder, "
                           "a .safetensors file, or a Hub id org/name)")
    if revision is not None:
        raise WeightsError(f"a revision applies to Hub models only, not to {spec}")
    return source


def load_model(
    spec: str = "default",
    *,
    revision: str | None = None,
    endpoint: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> LoadedModel[torch.nn.Module]:
    """`resolve_model`, then `load_model_files`. Raises `WeightsError`."""
    return load_model_files(resolve_model(spec, revision=revision, endpoint=endpoint,
                                          cache_dir=cache_dir, local_files_only=local_files_only))


def load_model_files(source: ModelSource, build: Builder[M] = build_restorer) -> LoadedModel[M]:
    """Build the network config.json describes and load model.safetensors into it, strictly.

    Raises `WeightsError` for a bad config, a corrupt file, missing or unexpected tensors,
    shape or dtype mismatches, and NaN/inf values.
    """
    path = source.weights_path
    if source.config_path is None:
        data, where = _embedded_config(path), f"in the metadata of {path}"
        if data is None:
            raise WeightsError(f"no model config in the metadata of {path}")
    else:
        data, where = _read_config(source.config_path), str(source.config_path)
    try:
        config, module = build(data)
        module = module.to(device="cpu", dtype=torch.float32)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"bad model config {where}: {exc}") from exc
    try:
        tensors = load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"corrupt weights file {path}: {exc}") from exc
    check_tensors(tensors, module.state_dict(), f"weights {path}", against=MODEL_CONFIG)
    module.load_state_dict(tensors, strict=True)
    module.eval()
    parameters = sum(parameter.numel() for parameter in module.parameters())
    return LoadedModel(module, config, source, file_sha256(path), parameters)


def save_model(
    module: torch.nn.Module,
    config: Any,  # anything with to_dict(): ModelConfig, PerceiverConfig
    folder: str | Path,
    *,
    model_card: str | None = None,
) -> Path:
    """Write model.safetensors, config.json (and README.md) into `folder`, each atomically.

    The weights file carries the config and this version in its metadata as well, so it loads alone.

    Creates the folder and returns it. Raises `OutputError` if it cannot be written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create model folder {folder}: {exc.strerror or exc}") from exc
    # copy=True: tensors that share storage (tied or viewed weights) cannot be saved as they are.
    tensors = {name: tensor.detach().to("cpu", copy=True).contiguous()
               for name, tensor in module.state_dict().items()}
    config_json = json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n"
    metadata = {"format": "pt", METADATA_CONFIG: config_json, METADATA_VERSION: __version__}
    files = {MODEL_WEIGHTS: save_tensors(tensors, metadata=metadata), MODEL_CONFIG: config_json.encode("utf-8")}
    if model_card is not None:
        files[MODEL_CARD] = model_card.encode("utf-8")
    for name, data in files.items():
        with atomic_path(folder / name) as temporary:
            temporary.write_bytes(data)
    return folder


def list_models(*, cache_dir: str | Path | None = None) -> list[ModelInfo]:
    """The bundled model (if installed) and each cached Hub revision holding a uhdrestore model."""
    models: list[ModelInfo] = []
    bundled = bundled_weights_dir()
    if _is_model_folder(bundled):
        size = sum((bundled / name).stat().st_size for name in (MODEL_CONFIG, MODEL_WEIGHTS))
        models.append(ModelInfo("default", "bundled", bundled, None, size))
    # Imported late: huggingface_hub reads HF_* variables at import, and local runs never need it.
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:  # the cache hf_hub_download writes to (scan_cache_dir's own default is frozen at its import)
        cache = scan_cache_dir(cache_dir or constants.HF_HUB_CACHE)
    except CacheNotFound:
        return models
    except ValueError as exc:  # the cache path is a file
        raise WeightsError(f"cannot read the Hub cache: {exc}") from exc
    for repo in sorted(cache.repos, key=lambda repo: repo.repo_id):
        for revision in sorted(repo.revisions, key=lambda revision: revision.last_modified):
            # Only ours: any cached repo with config.json + model.safetensors (a BERT ...) is not a model of ours.
            if repo.repo_type == "model" and is_uhdrestore_model(revision.snapshot_path):
                models.append(ModelInfo(repo.repo_id, "hub", revision.snapshot_path,
                                        revision.commit_hash, revision.size_on_disk))
    return models


UHDRESTORE_ARCHITECTURES = ("simpleir", "perceiver")  # the `arch` uhdrestore writes into every config.json


def is_uhdrestore_model(folder: Path) -> bool:
    """Whether `folder` holds a model uhdrestore wrote: both files, and its architecture in config.json."""
    if not _is_model_folder(folder):
        return False
    try:
        data = json.loads((folder / MODEL_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    if "arch" in data:
        return data["arch"] in UHDRESTORE_ARCHITECTURES
    try:  # a restorer config from before `arch` was written: every key must be one of ours
        ModelConfig.from_dict(data)
    except (TypeError, ValueError):
        return False
    return True


def _path_like(spec: str) -> str | None:
    """Why a missing `spec` must be a local path and not a Hub id, or None if it may be a Hub id."""
    if spec.startswith((".", "/", "~")) or "./" in spec or "\\" in spec:
        return "it is written as a path"
    if spec.endswith(".safetensors"):
        return "it names a weights file"
    parent = Path(spec).expanduser().parent
    if parent != Path(".") and parent.is_dir():
        return f"the folder {parent} exists, so it is read as a path, not a Hub id"
    return None


def _is_model_folder(folder: Path) -> bool:
    return (folder / MODEL_CONFIG).is_file() and (folder / MODEL_WEIGHTS).is_file()


def _local_source(spec: str, path: Path) -> ModelSource:
    if path.is_dir():
        config, weights = path / MODEL_CONFIG, path / MODEL_WEIGHTS
        for required in (config, weights):
            if not required.is_file():
                raise WeightsError(f"model folder {path} has no {required.name}")
    elif path.suffix == ".safetensors":
        # The file's own metadata first: a config.json beside it may belong to another file of the folder.
        if _embedded_config(path) is not None:
            return ModelSource(spec, "local", None, path, None)
        config, weights = path.parent / MODEL_CONFIG, path
        if not config.is_file():
            raise WeightsError(f"the weights file {path} has no model config in its metadata and no "
                               f"{MODEL_CONFIG} beside it")
    else:
        raise WeightsError(f"not a model: {path} (expected a folder with {MODEL_CONFIG} and "
                           f"{MODEL_WEIGHTS}, or a .safetensors file)")
    return ModelSource(spec, "local", config, weights, None)


def _hub_source(repo_id: str, *, revision: str | None, endpoint: str | None,
                cache_dir: str | Path | None, local_files_only: bool) -> ModelSource:
    # Imported late: huggingface_hub reads HF_* variables at import, and local runs never need it.
    from huggingface_hub import constants

    asked = revision or "main"
    hub = endpoint or constants.ENDPOINT
    if not (local_files_only or constants.HF_HUB_OFFLINE):
        unreachable = _probe_hub(repo_id, revision=revision, endpoint=endpoint, hub=hub, asked=asked)
        if unreachable is not None:  # use the cache if it has the model, as huggingface_hub would
            try:
                return _hub_source(repo_id, revision=revision, endpoint=endpoint, cache_dir=cache_dir,
                                   local_files_only=True)
            except WeightsError:
                raise unreachable from None
    paths: dict[str, Path] = {}
    for filename in (MODEL_CONFIG, MODEL_WEIGHTS):
        paths[filename] = download_file(repo_id, filename, revision=revision, endpoint=endpoint,
                                        cache_dir=cache_dir, local_files_only=local_files_only, asked=asked)
        # Fetch the weights from the commit the config came from, even if the branch moves meanwhile.
        revision = paths[filename].parent.name
    return ModelSource(repo_id, "hub", paths[MODEL_CONFIG], paths[MODEL_WEIGHTS], revision)


def download_file(repo_id: str, filename: str, *, revision: str | None = None, endpoint: str | None = None,
                  cache_dir: str | Path | None = None, local_files_only: bool = False,
                  if_missing: str | None = None, asked: str | None = None) -> Path:
    """One file of a Hub repository, through `hf_hub_download` (its cache, HF_ENDPOINT, offline mode and
    tokens), with every failure as a one-line `WeightsError`.

    `if_missing` is the message when the repository has no such file (default: it is not a uhdrestore
    model); `asked` is the revision to name in messages (default: `revision`, or main).
    """
    # Imported late: huggingface_hub reads HF_* variables at import, and local runs never need it.
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir, endpoint=endpoint,
                                    local_files_only=local_files_only, library_name=LIBRARY_NAME,
                                    library_version=__version__))
    except Exception as exc:
        if if_missing is not None and isinstance(exc, EntryNotFoundError) and not isinstance(
                exc, LocalEntryNotFoundError):
            raise WeightsError(if_missing) from exc
        error = _hub_error(exc, repo_id, asked or revision or "main", filename, endpoint or constants.ENDPOINT,
                           local_files_only=local_files_only)
        if error is None:
            raise
        raise error from exc


def _probe_hub(repo_id: str, *, revision: str | None, endpoint: str | None, hub: str,
               asked: str) -> WeightsError | None:
    """One quick HEAD of the config, without retries: the error to raise if the Hub does not answer.

    Other failures (no such repository, gated ...) are raised here as their WeightsError.
    """
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub import errors as hf

    url = hf_hub_url(repo_id, MODEL_CONFIG, revision=revision, endpoint=endpoint)
    try:
        get_hf_file_metadata(url, timeout=min(float(constants.HF_HUB_ETAG_TIMEOUT), HUB_PROBE_TIMEOUT),
                             endpoint=endpoint, retry_on_errors=False,
                             library_name=LIBRARY_NAME, library_version=__version__)
    except (http_module().TransportError, ConnectionError, TimeoutError) as exc:
        reason = _first_line(exc)
    except hf.HfHubHTTPError as exc:
        if exc.response is None or exc.response.status_code < 500 and exc.response.status_code not in (408, 429):
            error = _hub_error(exc, repo_id, asked, MODEL_CONFIG, hub, local_files_only=False)
            if error is None:
                raise
            raise error from exc
        reason = _first_line(exc)
    else:
        return None
    return WeightsError(f"cannot reach the Hub at {hub}: {reason} (fetching {repo_id}, not a local path; "
                        "not in the local cache either). Check the network, or work offline with a cached "
                        "model (--offline or HF_HUB_OFFLINE=1) or a local model folder")


def _hub_error(exc: Exception, repo_id: str, revision: str, filename: str, endpoint: str,
               *, local_files_only: bool) -> WeightsError | None:
    """A one-line WeightsError for a huggingface_hub failure, or None if `exc` is not one."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    model = f"model {repo_id} (revision {revision})"
    cause = exc.__cause__
    not_cached = isinstance(exc, hf.LocalEntryNotFoundError)
    offline = local_files_only or constants.HF_HUB_OFFLINE or isinstance(cause, hf.OfflineModeIsEnabled)
    if isinstance(exc, hf.OfflineModeIsEnabled) or (offline and not_cached):
        return WeightsError(f"{model} is not in the local cache and offline mode is on; "
                            "run once with network access, or unset HF_HUB_OFFLINE")
    unreachable = f"cannot reach the Hub at {endpoint}: {{}} (fetching {repo_id}, not a local path)"
    if not_cached:  # the Hub did not answer, and nothing is cached
        return WeightsError(unreachable.format(_first_line(cause or exc)))
    if isinstance(exc, hf.EntryNotFoundError):
        return WeightsError(f"{model} has no {filename}: it is not a uhdrestore model "
                            f"(expected {MODEL_CONFIG} and {MODEL_WEIGHTS})")
    if isinstance(exc, hf.RevisionNotFoundError):
        return WeightsError(f"model {repo_id} has no revision {revision} on the Hub at {endpoint}")
    if isinstance(exc, hf.GatedRepoError):
        return WeightsError(f"model {repo_id} is gated: accept its terms on the Hub, then log in "
                            "(hf auth login)")
    if isinstance(exc, hf.RepositoryNotFoundError):
        return WeightsError(f"no such model: {repo_id} is not a local path, and the Hub at {endpoint} "
                            "has no such repository (if it is private, log in with hf auth login)")
    if isinstance(exc, hf.HFValidationError):
        return WeightsError(f"no such model: {repo_id} is not a valid Hub id ({_first_line(exc)})")
    if isinstance(exc, (hf.HfHubHTTPError, http_module().HTTPError, ConnectionError, TimeoutError)):
        return WeightsError(unreachable.format(_first_line(exc)))
    if isinstance(exc, OSError):  # writing into the cache failed (disk full, permissions)
        return WeightsError(f"cannot download {model} into the Hub cache: {exc.strerror or exc}")
    return None


def http_module() -> Any:
    """The HTTP client huggingface_hub itself uses (httpx on 1.x, httpx2 on 2.x), to catch its errors.

    Importing httpx2 by name broke every Hub error on huggingface_hub 1.x ("unexpected
    ModuleNotFoundError"); `huggingface_hub.utils.httpx` names the right one on both.
    """
    from huggingface_hub.utils import httpx

    return httpx


def _first_line(exc: BaseException) -> str:
    """The gist of an error whose message may run over several paragraphs and URLs."""
    response = getattr(exc, "response", None)
    if response is not None:  # an HTTP error: the status says it all
        text = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        server_message = getattr(exc, "server_message", None)
        return f"{text} ({server_message})" if server_message else text
    text = " ".join(str(exc).split("\n\n", 1)[0].split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _embedded_config(path: Path) -> dict[str, Any] | None:
    """The model config save_model wrote into a weights file's metadata, or None if it has none."""
    try:
        with safe_open(path, framework="pt") as handle:
            text = (handle.metadata() or {}).get(METADATA_CONFIG)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"corrupt weights file {path}: {exc}") from exc
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WeightsError(f"bad model config in the metadata of {path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"bad model config in the metadata of {path}: expected a JSON object")
    return data


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WeightsError(f"cannot read model config {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise WeightsError(f"bad model config {path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise WeightsError(f"bad model config {path}: expected a JSON object, got {kind}")
    return data


def check_tensors(tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str, *,
                  against: str) -> None:
    """Say exactly how weights disagree with the network meant to take them (`expected`, its state dict):
    missing, unexpected, misshapen, integer where float, then NaN or infinite values; one `WeightsError`.

    `what` names the weights ("weights model.safetensors"), `against` what they should fit ("config.json").
    """
    shared = sorted(set(tensors) & set(expected))
    problems = {
        "missing": sorted(set(expected) - set(tensors)),
        "unexpected": sorted(set(tensors) - set(expected)),
        "shape mismatch:": [f"{name} {tuple(tensors[name].shape)} ({against} expects "
                            f"{tuple(expected[name].shape)})" for name in shared
                            if tensors[name].shape != expected[name].shape],
        "wrong dtype:": [f"{name} {tensors[name].dtype}" for name in shared
                         if tensors[name].is_floating_point() != expected[name].is_floating_point()],
    }
    found = [f"{kind} {_names(names)}" for kind, names in problems.items() if names]
    if found:
        raise WeightsError(f"{what} do not match {against}: {'; '.join(found)}")
    not_finite = [name for name in sorted(tensors) if tensors[name].is_floating_point()
                  and not bool(torch.isfinite(tensors[name]).all())]
    if not_finite:
        raise WeightsError(f"{what} hold NaN or infinite values in {_names(not_finite)}")


def _names(items: list[str]) -> str:
    extra = len(items) - _MAX_NAMED
    return ", ".join(items[:_MAX_NAMED]) + (f" and {extra} more" if extra > 0 else "")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a MiB at a time (the id reports give a weights file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


