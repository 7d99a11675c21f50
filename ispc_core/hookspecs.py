'''The contract between ispc and its plugins.

Each hook takes no arguments and returns a list of typed objects from
:mod:`ispc_core.specs`. A plugin is any module or object with functions marked
``@hookimpl`` whose names match the hooks below; it is found through the
``ispc`` entry-point group::

    # pyproject.toml of a plugin distribution
    [project.entry-points."ispc"]
    my-plugin = "my_plugin"

The core's own built-ins register the same way (see the core's pyproject).
'''

from __future__ import annotations

import pluggy

PROJECT_NAME = "ispc"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def ispc_engines():
    """Return the execution engines this plugin provides, as a list of ``EngineSpec``.

    An engine runs one kind of resource (``"wasm"``, ``"onnx"``). It validates
    resources at deploy and executes calls under the context's limits, calling
    host functions through ``call.context.host``.

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import EngineSpec, EngineResult, ResourceInfo, FunctionSignature

        class EchoEngine:
            # Returns its arguments; resources are UTF-8 text naming one function.

            def validate(self, code, host_functions):
                return ResourceInfo(kind="echo",
                                    exports=(FunctionSignature(code.decode(), ("i64",), ("i64",)),))

            def execute(self, call):
                call.context.host.call("event.emit", "echo", b"")
                return EngineResult(values=call.args)

        @hookimpl
        def ispc_engines():
            return [EngineSpec(name="echo", kinds=("echo",), suffixes=(".echo",),
                               factory=lambda services: EchoEngine())]
    """


@hookspec
def ispc_provers():
    """Return the proving schemes this plugin provides, as a list of ``ProverSpec``.

    A prover proves circuit instances on the curves it names and verifies
    ``ProofArtifact`` objects against keys in the node's key store.

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import ProverSpec

        @hookimpl
        def ispc_provers():
            from my_groth16.prover import Groth16Prover
            return [ProverSpec(name="groth16", curves=("bn254", "bls12-381"),
                               factory=lambda services: Groth16Prover(services.keystore_dir))]
    """


@hookspec
def ispc_host_functions():
    """Return the host functions programs may call, as a list of ``HostFunction``.

    The core records every call in the trace and charges it to the quota meter;
    the implementation receives a :class:`ispc_core.hostabi.HostCall` first.
    Engines expose each function automatically (wasm: import ``ispc.<import_name>``).

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import HostFunction, Param

        def _square(call, x):
            return x * x

        @hookimpl
        def ispc_host_functions():
            return [HostFunction(name="math.square", params=(Param("x", "i64"),),
                                 returns="i64", impl=_square, doc="x squared")]
    """


@hookspec
def ispc_resource_policies():
    """Return admission and limit policies, as a list of ``ResourcePolicy``.

    The coordinator applies the element-wise minimum of the limits every policy
    returns, and any policy's ``admit`` may refuse with ``AdmissionDenied``.

    Example::

        import attrs
        from ispc_core import hookimpl
        from ispc_core.errors import AdmissionDenied
        from ispc_core.specs import ResourcePolicy

        def _admit(request):
            if request.input_bytes > 4096:
                raise AdmissionDenied(f"input of {request.input_bytes} bytes exceeds 4096")

        @hookimpl
        def ispc_resource_policies():
            return [ResourcePolicy(name="small-inputs", admit=_admit,
                                   limits=lambda request, limits: attrs.evolve(limits, fuel=1_000_000))]
    """


@hookspec
def ispc_circuits():
    """Return the statements that can be proven about executions, as a list of ``CircuitSpec``.

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import CircuitSpec

        @hookimpl
        def ispc_circuits():
            from my_circuits.execution import build_instance
            return [CircuitSpec(circuit_id="contract_execution", version="v1",
                                applies_to=("wasm", "onnx"), instance=build_instance)]
    """


@hookspec
def ispc_curve_backends():
    """Return fast arithmetic backends for named curves, as a list of ``CurveBackendSpec``.

    The highest-priority backend for a curve is used; the pure-Python
    reference backend is always present and used to cross-check in tests.

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import CurveBackendSpec

        @hookimpl
        def ispc_curve_backends():
            from my_native_bn254 import Bn254Backend
            return [CurveBackendSpec(name="native-bn254", curve="bn254",
                                     factory=Bn254Backend, priority=10)]
    """


@hookspec
def ispc_proof_executors():
    """Return places where proof jobs can run, as a list of ``ProofExecutorSpec``.

    ``factory(address, config)`` returns an object with the
    ``concurrent.futures.Executor`` interface (``submit``, ``shutdown``).

    Example::

        from concurrent.futures import ThreadPoolExecutor
        from ispc_core import hookimpl
        from ispc_core.specs import ProofExecutorSpec

        @hookimpl
        def ispc_proof_executors():
            return [ProofExecutorSpec(name="threads",
                                      factory=lambda address, config: ThreadPoolExecutor(2))]
    """


@hookspec
def ispc_submitters():
    """Return destinations for finished transactions, as a list of ``SubmitterSpec``.

    A submitter receives only signed transactions whose proofs are attached.

    Example::

        from ispc_core import hookimpl
        from ispc_core.specs import SubmitterSpec

        class PrintSubmitter:
            def submit(self, tx):
                from ispc_core.node.txcodec import tx_id
                print("submitted", tx_id(tx).hex())
                return tx_id(tx)

        @hookimpl
        def ispc_submitters():
            return [SubmitterSpec(name="print", factory=lambda node: PrintSubmitter())]
    """


@hookspec
def ispc_evidence_verifiers():
    """Return verifiers for evidence about external state, as a list of ``EvidenceVerifierSpec``.

    ``external.provide_evidence`` asks the configured verifier whether
    ``evidence`` supports ``claim`` for a declared external state ``(kind, key)``.

    Example::

        import hmac, hashlib
        from ispc_core import hookimpl
        from ispc_core.specs import EvidenceVerifierSpec

        def _verify(kind, key, claim, evidence, config):
            expected = hmac.new(b"shared-secret", key + claim, hashlib.sha256).digest()
            return hmac.compare_digest(expected, evidence)

        @hookimpl
        def ispc_evidence_verifiers():
            return [EvidenceVerifierSpec(name="hmac", verify=_verify)]
    """


@hookspec
def ispc_proof_finished(job, artifact, error):
    """Be told when an asynchronous proof job ends; return nothing.

    Unlike the other hooks this one is a *notification*: it takes arguments
    and its return value is ignored. ``job`` is the finished
    :class:`~ispc_core.proofjobs.model.ProofJob` (``state`` is ``"done"`` or
    ``"failed"``, ``cause`` says why it failed, ``tx_id`` names the submitted
    transaction); ``artifact`` is the :class:`~ispc_core.specs.ProofArtifact`
    on success and ``None`` on failure; ``error`` is the typed exception on
    failure and ``None`` on success. It runs in the node's proof-job runner
    thread: keep it quick, and an exception it raises is logged, never
    propagated (the job's outcome is already recorded).

    Example::

        import logging
        from ispc_core import hookimpl

        @hookimpl
        def ispc_proof_finished(job, artifact, error):
            if error is None:
                logging.getLogger("audit").info("job %s: tx %s proven", job.job_id, job.tx_id.hex())
            else:
                logging.getLogger("audit").warning("job %s failed: %s", job.job_id, job.cause)
    """
