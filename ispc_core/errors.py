"""Typed errors of ispc.

Every failure a caller can cause has its own class, and its message names what
was wrong. The CLI prints ``str(error)`` on one line and exits non-zero.
"""

from __future__ import annotations


class IspcError(Exception):
    """Base class of every error ispc raises on purpose."""

    #: short machine-readable code, stable across versions (used by ``--json``)
    code = "error"


# --- configuration and plugins -------------------------------------------------
class ConfigError(IspcError):
    """The node configuration is invalid (unknown key, wrong type, bad value)."""

    code = "config"


class PluginError(IspcError):
    """A plugin could not be loaded, or two plugins conflict."""

    code = "plugin"


class PluginConflict(PluginError):
    """Two plugins provide the same name for the same kind."""

    code = "plugin_conflict"


class NotProvided(PluginError):
    """Nobody provides the engine / prover / curve / executor asked for."""

    code = "not_provided"


class PluginFailure(PluginError):
    """Plugin code raised something that is not an ispc error (a bug in the plugin).

    ``plugin`` names the plugin (its registered name), ``stage`` where it was
    called (``engine.execute``, ``prover.prove``, ...). The original exception
    is the ``__cause__``; set ``ISPC_TRACEBACK=1`` (``ispc --traceback``) to get
    the original traceback instead of this error.
    """

    code = "plugin_failure"

    def __init__(self, message: str, *, plugin: str = "", stage: str = ""):
        super().__init__(message)
        self.plugin = plugin
        self.stage = stage


# --- resources and requests ----------------------------------------------------
class RequestError(IspcError):
    """The request itself is malformed."""

    code = "bad_request"


class UnknownResource(RequestError):
    """No resource with this id is deployed."""

    code = "unknown_resource"


class UnknownFunction(RequestError):
    """The resource exports no function with this name."""

    code = "unknown_function"


class InvalidArguments(RequestError):
    """Arguments do not match the function's signature."""

    code = "invalid_arguments"


class UnknownKey(RequestError):
    """No key with this name exists in the node's key store."""

    code = "unknown_key"


class OversizedInput(RequestError):
    """An input is larger than the configured limit."""

    code = "oversized_input"


class DeployError(IspcError):
    """A resource was refused at deploy time (malformed, unknown imports, ...)."""

    code = "deploy"


# --- execution -----------------------------------------------------------------
class ExecutionError(IspcError):
    """The program failed while running (a trap, an engine error)."""

    code = "execution"


class ProgramTrap(ExecutionError):
    """The program trapped (unreachable, division by zero, stack overflow, ...)."""

    code = "trap"


class HostCallError(ExecutionError):
    """A host function refused its arguments (bad pointer, bad encoding, ...).

    ``function`` and ``argument`` name the host function and the offending argument.
    """

    code = "host_call"

    def __init__(self, message: str, *, function: str = "", argument: str = ""):
        super().__init__(message)
        self.function = function
        self.argument = argument


class UnverifiableHostFunction(HostCallError):
    """A program called a host function that gives verifiers no way to check
    its journal entry (``HostFunction.verify`` is unset), so its transaction
    could never be accepted."""

    code = "unverifiable_host_function"


class InsufficientFunds(ExecutionError):
    """The payer's spendable outputs do not cover the amount."""

    code = "insufficient_funds"


class LimitExceeded(ExecutionError):
    """A resource limit was hit while the program ran.

    ``limit`` names the limit, ``used`` and ``allowed`` give the numbers.
    """

    code = "limit"
    limit = "limit"

    def __init__(self, message: str, *, used: int | float = 0, allowed: int | float = 0):
        super().__init__(message)
        self.used = used
        self.allowed = allowed


class OutOfFuel(LimitExceeded):
    """The instruction budget (fuel) ran out."""

    code = "out_of_fuel"
    limit = "fuel"


class MemoryLimitExceeded(LimitExceeded):
    """The program asked for more memory than the policy allows."""

    code = "memory_limit"
    limit = "memory_pages"


class DeadlineExceeded(LimitExceeded):
    """The wall-clock budget ran out and the program was interrupted."""

    code = "deadline"
    limit = "wall_time_ms"


class HostCallLimitExceeded(LimitExceeded):
    """The program made more host calls than allowed."""

    code = "host_call_limit"
    limit = "max_host_calls"


class TraceLimitExceeded(LimitExceeded):
    """The trace grew beyond its byte budget."""

    code = "trace_limit"
    limit = "max_trace_bytes"


class ConcurrencyLimitExceeded(LimitExceeded):
    """Too many executions are running at once."""

    code = "concurrency_limit"
    limit = "max_concurrent"


class AdmissionDenied(IspcError):
    """A resource policy refused to admit the execution."""

    code = "admission_denied"


class Cancelled(IspcError):
    """The caller cancelled the call or its deadline passed during an I/O stage."""

    code = "cancelled"


# --- ledger, mempool, proofs -----------------------------------------------------
class LedgerError(IspcError):
    """A ledger rule was violated."""

    code = "ledger"


class TransactionRejected(LedgerError):
    """The mempool or ledger rejected a transaction; ``reason`` says why (a ledger rule, or the failed
    verification check). For a malformed call record or journal, ``entry`` (the journal entry's index,
    None for the call record) and ``field`` name what does not decode."""

    code = "tx_rejected"

    def __init__(self, message: str, *, reason: str = "", entry: int | None = None, field: str = ""):
        super().__init__(message)
        self.reason = reason or message
        self.entry = entry
        self.field = field


class JournalError(RequestError):
    """A transaction's call record or journal is malformed: ``entry`` is the
    journal entry's index (None for the call record), ``field`` the field at fault."""

    code = "bad_journal"

    def __init__(self, message: str, *, entry: int | None = None, field: str = ""):
        super().__init__(message)
        self.entry = entry
        self.field = field


class UnknownTransaction(LedgerError):
    """No transaction with this id is known."""

    code = "unknown_tx"


class ProofError(IspcError):
    """Proving or verification failed."""

    code = "proof"


class ProofInvalid(ProofError):
    """A proof did not verify."""

    code = "proof_invalid"


class CorruptData(IspcError):
    """Stored data failed its integrity check (a resource whose bytes no longer
    hash to its id, an unreadable key file)."""

    code = "corrupt"


class KeyFileCorrupt(CorruptData):
    """A key file (``zkkeys/<scheme>/...`` or one given on the command line) is
    truncated, garbled or unreadable. ``path`` names the file, ``section`` the
    part that is wrong (a zkey section, a JSON field) when known."""

    code = "key_file_corrupt"

    def __init__(self, message: str, *, path: str = "", section: str = ""):
        super().__init__(message)
        self.path = path
        self.section = section


# --- node files (ledger.sqlite, mempool.sqlite, proofjobs.sqlite) -------------------
class NodeFileError(IspcError):
    """A database of the node home cannot be used. ``path`` names the file;
    the message says what is wrong with it and what to do."""

    code = "node_file"

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(message)
        self.path = path


class NoChain(NodeFileError):
    """The node home has no chain yet (``ispc init`` creates one)."""

    code = "no_chain"


class ChainExists(NodeFileError):
    """``ispc init`` found a chain (or databases) already in the node home."""

    code = "chain_exists"


class DatabaseMissing(NodeFileError):
    """A database the node home needs is missing (the home has the others)."""

    code = "db_missing"


class DatabaseCorrupt(NodeFileError, CorruptData):
    """A database is empty, truncated, not an SQLite database, not the kind of
    database its name says, or has damaged pages or rows."""

    code = "db_corrupt"


class DatabasePermissionDenied(NodeFileError):
    """A database (or its directory) cannot be read or opened for lack of permission."""

    code = "db_permission"


class DatabaseReadOnly(NodeFileError):
    """A write was needed but the database is read-only (file or directory permissions)."""

    code = "db_read_only"


class DatabaseLocked(NodeFileError):
    """Another process held the database's write lock longer than the busy timeout."""

    code = "db_locked"


class DatabaseIOError(NodeFileError):
    """The operating system failed to read or write a database (I/O error, disk full)."""

    code = "db_io"


# --- engines (ispc-onnx, ispc-wasm) -------------------------------------------------
class ModelCrashed(ExecutionError):
    """An ONNX model ended the worker process that ran it (``SIGFPE`` from an
    integer division overflow in an operator kernel, a segfault, ...). The node
    is unaffected; ``signal_name`` names the signal when one ended the worker."""

    code = "model_crashed"

    def __init__(self, message: str, *, signal_name: str = ""):
        super().__init__(message)
        self.signal_name = signal_name


class CompileLimitExceeded(DeployError):
    """A module is larger than the node compiles (compile time grows with it).
    ``limit`` names the limit (``max_code_bytes``, ``max_functions``), ``used``
    and ``allowed`` give the numbers."""

    code = "compile_limit"

    def __init__(self, message: str, *, limit: str = "", used: int = 0, allowed: int = 0):
        super().__init__(message)
        self.limit = limit
        self.used = used
        self.allowed = allowed
