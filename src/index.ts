// certgen's public library API. Re-exports only; importing it has no side effects beyond
// registering @peculiar/x509's WebCrypto provider.
export { CertgenError, UsageError, EXIT } from './errors.js';
export {
  createCA,
  createClientCA,
  createNode,
  createClient,
  createTenantClientCA,
  createTenantClient,
  createTenantSigning,
  DEFAULT_TENANT_HOSTS,
  loadCA,
  checkLifetimeAgainstCA,
  DEFAULT_KEY_SIZE,
  DEFAULT_CA_LIFETIME,
  DEFAULT_CERT_LIFETIME,
  type CommonOptions,
  type CreateOptions,
  type CreateCAOptions,
  type CreateClientOptions,
  type CreateNodeOptions,
  type CreateTenantSigningOptions,
  type CreateResult,
} from './cert/commands.js';
export { listCerts, listingCells, LIST_COLUMNS, type CertListing, type CertListRow, type ListOptions } from './cert/list.js';
export { scanCertsDir, type CertInfo, type CertsDirScan } from './cert/certs-dir.js';
export { parseDuration, formatDuration, DurationError, NS_PER_HOUR } from './core/duration.js';
export { normalizeUsername, checkUsername } from './core/username.js';
export { renderResultSet, FORMATS, type Format, type ResultSet } from './core/table-format.js';
export { loadSpec, SpecError, DEFAULT_SPEC_FILE } from './cluster-spec/load-spec.js';
export { parseSpec, formatDiagnostic } from './cluster-spec/parse-spec.js';
export type { ClusterSpec, NodeSpec, ClientSpec, TenantSpec, UiFiles, SshTarget, Diagnostic } from './cluster-spec/spec.js';
export { apply, applySaved, decrypt, PlanBlockedError, StalePlanError, renderApplyText, type ApplyOptions, type ApplyResult, type ApplyEvent } from './apply.js';
export { savedPlanFor, writeSavedPlan, readSavedPlan, type SavedPlan, type PlanInputs } from './plan/saved.js';
export { renderK8sLines, renderK8sPlan } from './kubernetes/render.js';
export { plan, type PlanOptions } from './plan/plan.js';
export { diff, type DiffInput } from './plan/diff.js';
export { renderPlanText } from './plan/render-text.js';
export { hasChanges, summarize, PLAN_VERSION, type Plan, type Change, type Reason, type ReasonCode, type Action, type PlanError, type Ops, type WriteOp, type ChmodOp, type KeyParams, type CertParams } from './plan/types.js';
export { distribute, DEFAULT_CONCURRENCY, type DistributeOptions, type DistributeResult, type DistributeTarget, type DistributeEvent } from './distribute/distribute.js';
export { renderDistributeTable, distributeResultJson, formatDistributeEvent, needsReloadAgain, reloadAgainHint } from './distribute/render.js';
export type { Rollout, TargetVerification, LocalFile } from './distribute/types.js';
export { changedNodes, differingNodes, nodeFiles, copyToNode, reloadNode, verifyNode, type ReloadResult } from './distribute/rollout.js';
export { probeEndpoint, probeNode, endpointsOf, DEFAULT_SQL_PORT, type Endpoint, type EndpointKind, type Presentation, type PresentedLeaf, type ClientVerdict, type ClientCredentials, type NodePorts, type ProbeOptions } from './verify/probe.js';
export { judge, expectedFrom, verifyChain, hostPasses, type Expected, type Judgement } from './verify/compare.js';
export { verifyEndpoint, verifyEndpoints, DEFAULT_VERIFY_TIMEOUT_MS, type EndpointVerification, type VerifyOptions } from './verify/verify.js';
export { clientCredentials, probeCredentials, PROBE_COMMON_NAME } from './verify/probe-cert.js';
export { fleetStatus, targetStatus, STATUS_EXIT, type StatusOptions, type StatusResult, type StatusTarget, type StatusFile, type FileState, type TargetState, type StatusEvent } from './distribute/status.js';
export { renderStatus, statusResultJson, notReloaded, notReloadedHint, STATUS_FORMATS, type StatusFormat } from './distribute/status-render.js';
export { servedBy, type Served, type ServedEndpoint, type ServedState } from './distribute/served.js';
export { parseRecipients, encryptArmored, parseIdentities, readIdentityFile, decryptArmored, decryptWithIdentityFile, recipientOf, ageRecipientProblem, AgeError, type AgeErrorKind } from './pki/age.js';
export { writeKubernetesOutputs, planKubernetesOutputs, kubernetesManifestStream, manifestsOf, checkPlaintextOutputs, PlaintextSecretRefused, type K8sFileResult, type K8sPlannedFile, type K8sRenderOptions } from './kubernetes/outputs.js';
export { ANNOTATIONS as K8S_ANNOTATIONS, type K8sObject, type Manifest } from './kubernetes/manifests.js';
export { sopsEncryptYaml, sopsUpToDate, SOPS_ENCRYPTED_REGEX } from './kubernetes/sops.js';
export { statefulSetHosts, defaultObjectNames, KUBERNETES_LAYOUTS, type KubernetesLayout } from './core/kubernetes.js';
export { gitPathStates, GitError, type GitPathState } from './io/git.js';
export type { NodeSetSpec, KubernetesOutputSpec, OutputsSpec } from './cluster-spec/spec.js';
export { rotateStart, type StartOptions as RotateStartOptions, type StartResult as RotateStartResult } from './rotate/start.js';
export { rotateStatus, ROTATE_STATUS_VERSION, type RotateStatus } from './rotate/status.js';
export { rotateContinue, type ContinueOptions as RotateContinueOptions, type ContinueResult as RotateContinueResult } from './rotate/continue.js';
export { rotateAbort, type AbortResult as RotateAbortResult } from './rotate/abort.js';
export { renderRotateStatus } from './rotate/render.js';
export { RotationError, readRotationState, rotationFileFor, PHASES as ROTATION_PHASES, ROTATION_REASONS, type RotationState, type RotationReason, type Phase as RotationPhase } from './rotate/state.js';
