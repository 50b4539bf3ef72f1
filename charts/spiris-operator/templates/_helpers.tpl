{{/* Names, labels and shared fragments of the spiris-operator chart. */}}

{{- define "spiris.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spiris.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: <fullname>-<component>, within 63 characters. */}}
{{- define "spiris.componentName" -}}
{{- printf "%s-%s" (include "spiris.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component -}}
{{- end -}}

{{- define "spiris.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spiris.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spiris.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "spiris.selectorLabels" . }}
app.kubernetes.io/part-of: spiris
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{- define "spiris.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The namespaces whose objects the operator and web act on; empty list = cluster-wide. */}}
{{- define "spiris.clusterWide" -}}
{{- if not .Values.watchNamespaces -}}true{{- end -}}
{{- end -}}

{{/* Namespaces where sync Jobs run and that get the sync ServiceAccount, RoleBinding and NetworkPolicy: the watched
namespaces, or the release namespace when cluster-wide (other namespaces are prepared by hand, the README's install guide). */}}
{{- define "spiris.syncNamespaces" -}}
{{- if .Values.watchNamespaces -}}
{{- .Values.watchNamespaces | uniq | toJson -}}
{{- else -}}
{{- list .Release.Namespace | toJson -}}
{{- end -}}
{{- end -}}

{{/* RBAC rules, one definition per component; rendered into Roles or ClusterRoles. */}}
{{- define "spiris.operatorRules" -}}
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["spiris.senseworks.io"]
  resources: ["fiscalyearsyncs"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections/status", "fiscalyearsyncs/status"]
  verbs: ["get", "update", "patch"]
# Children it owns with blockOwnerDeletion (FiscalYearSyncs of a connection, Jobs of a FiscalYearSync): the
# OwnerReferencesPermissionEnforcement admission plugin requires update on the owner's finalizers.
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections/finalizers", "fiscalyearsyncs/finalizers"]
  verbs: ["update"]
# Token Secrets: read, watch and refresh (compare-and-swap update). The web creates them; owner references delete them.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "update"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{/* The operator's leader election: one Lease in the release namespace (read, created once, renewed by
compare-and-swap update). Bound by a Role there, whatever the watch scope. */}}
{{- define "spiris.operatorElectionRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end -}}

{{- define "spiris.webRules" -}}
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections"]
  verbs: ["get", "list"]
# The token Secret is written at consent: created, or read and replaced (at its resourceVersion) on re-consent.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "update"]
# The token Secret is owned by its connection with blockOwnerDeletion (OwnerReferencesPermissionEnforcement).
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections/finalizers"]
  verbs: ["update"]
# A consent refused after Spiris granted it (wrong company, a company check) leaves a Warning Event on the
# connection: the grant stays live at Spiris and someone must remove it there.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{- define "spiris.syncRules" -}}
# Progress only; the token Secret is mounted into the Job, so no Secret access at all.
- apiGroups: ["spiris.senseworks.io"]
  resources: ["fiscalyearsyncs/status"]
  verbs: ["patch"]
{{- end -}}

{{/* Spiris endpoints: explicit values win; otherwise production, or the sandbox environment when sandbox=true. */}}
{{- define "spiris.apiUrl" -}}
{{- if .Values.spiris.apiUrl -}}
{{- .Values.spiris.apiUrl -}}
{{- else if .Values.spiris.sandbox -}}
https://eaccountingapi-sandbox.test.vismaonline.com/v2
{{- else -}}
https://eaccountingapi.vismaonline.com/v2
{{- end -}}
{{- end -}}

{{- define "spiris.identityUrl" -}}
{{- if .Values.spiris.identityUrl -}}
{{- .Values.spiris.identityUrl -}}
{{- else if .Values.spiris.sandbox -}}
https://identity-sandbox.test.vismaonline.com
{{- else -}}
https://identity.vismaonline.com
{{- end -}}
{{- end -}}

{{- define "spiris.redirectUri" -}}
{{- printf "%s/oauth/callback" .Values.publicUrl -}}
{{- end -}}

{{/* The hardened container securityContext every container of the chart runs with. */}}
{{- define "spiris.containerSecurityContext" -}}
runAsNonRoot: true
{{- if .Values.securityContext.pinUserAndGroup }}
runAsUser: 10001
runAsGroup: 10001
{{- end }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Without pinUserAndGroup the ids are left to the platform: OpenShift's restricted SCC assigns each
namespace's range and refuses pods that name other ids. The image runs as any uid (files world-readable,
/tmp an emptyDir). */}}
{{- define "spiris.podSecurityContext" -}}
runAsNonRoot: true
{{- if .Values.securityContext.pinUserAndGroup }}
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment shared by the operator and the web: Spiris endpoints, OAuth client, public URL, signing key.
Only the web starts authorizations, so only it gets the sandbox switch and the redirect URI. */}}
{{- define "spiris.spirisEnv" -}}
{{- $root := .root -}}
- name: SPIRIS_API_URL
  value: {{ include "spiris.apiUrl" $root | quote }}
- name: SPIRIS_IDENTITY_URL
  value: {{ include "spiris.identityUrl" $root | quote }}
- name: SPIRIS_WEB_PUBLIC_URL
  value: {{ $root.Values.publicUrl | quote }}
{{- if eq .component "web" }}
- name: SPIRIS_SANDBOX
  value: {{ $root.Values.spiris.sandbox | toString | quote }}
- name: SPIRIS_REDIRECT_URI
  value: {{ include "spiris.redirectUri" $root | quote }}
{{- end }}
{{- /* Which of these Secret refs are optional (the pod starts without the Secret and reports, instead of the
kubelet waiting on "secret not found"):
- the web: all three. It serves in its not-configured mode: /readyz 503 listing the missing values by chart
  value, every consent page a "not set up yet" page (spiris_web.not_configured).
- the operator: the link-signing key. Without it a connection gets no consent link and says so (Ready=False,
  reason LinkSigningKeyNotSet). The OAuth client stays required: the operator refreshes every token with it
  and hands its id to the sync Jobs, so without it nothing it does for a connection could work.
The store Secrets (spiris.storeEnv) stay required too: the migrations and every sync need the database. */}}
{{- $web := eq .component "web" }}
- name: SPIRIS_CLIENT_ID
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.spiris.oauthClient.existingSecret }}
      key: {{ $root.Values.spiris.oauthClient.clientIdKey }}
      {{- if $web }}
      optional: true
      {{- end }}
- name: SPIRIS_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.spiris.oauthClient.existingSecret }}
      key: {{ $root.Values.spiris.oauthClient.clientSecretKey }}
      {{- if $web }}
      optional: true
      {{- end }}
- name: SPIRIS_LINK_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.linkSigningKey.existingSecret }}
      key: {{ $root.Values.linkSigningKey.key }}
      optional: true
{{- if and (eq .component "web") $root.Values.linkSigningKey.previousKeysKey }}
{{- /* Only the web verifies; optional, so a Secret without the key (no rotation yet) still starts the pod. */}}
- name: SPIRIS_LINK_PREVIOUS_SIGNING_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.linkSigningKey.existingSecret }}
      key: {{ $root.Values.linkSigningKey.previousKeysKey }}
      optional: true
{{- end }}
{{- end -}}

{{/* The Secret with the DATABASE_URL of one database role, as a secretKeyRef's `name`/`key`: `owner` (the
migrations; database), `worker` (the operator and the sync Jobs; database.worker) or `reader` (the read API;
api.database). A role without a Secret of its own uses the owner's: one role for everything is the simple
install (README "Database roles"). */}}
{{- define "spiris.databaseSecret" -}}
{{- $database := .root.Values.database }}
{{- $own := dict }}
{{- if eq .role "worker" }}{{ $own = $database.worker | default dict }}
{{- else if eq .role "reader" }}{{ $own = .root.Values.api.database }}
{{- else if ne .role "owner" }}{{ fail (printf "spiris.databaseSecret: unknown role %q" .role) }}
{{- end }}
{{- if $own.existingSecret }}
name: {{ $own.existingSecret }}
key: {{ $own.key }}
{{- else }}
name: {{ $database.existingSecret }}
key: {{ $database.key }}
{{- end }}
{{- end -}}

{{/* Environment of everything that touches the stores: Postgres as database role `.role` (see
spiris.databaseSecret) and S3. */}}
{{- define "spiris.storeEnv" -}}
{{- $root := .root -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "spiris.databaseSecret" . | trim | nindent 6 }}
- name: S3_ENDPOINT
  value: {{ $root.Values.s3.endpoint | quote }}
- name: S3_BUCKET
  value: {{ $root.Values.s3.bucket | quote }}
- name: S3_REGION
  value: {{ $root.Values.s3.region | quote }}
- name: S3_SECURE
  value: {{ $root.Values.s3.secure | toString | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.s3.existingSecret }}
      key: {{ $root.Values.s3.accessKeyKey }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.s3.existingSecret }}
      key: {{ $root.Values.s3.secretKeyKey }}
{{- end -}}

{{/* One egress rule of a NetworkPolicy from values {ports, cidrs, peers}; `protocols` lists the protocols. */}}
{{- define "spiris.egressRule" -}}
- ports:
  {{- range .target.ports }}
  {{- $port := . }}
  {{- range $.protocols }}
    - port: {{ $port }}
      protocol: {{ . }}
  {{- end }}
  {{- end }}
  {{- if or .target.cidrs .target.peers }}
  to:
    {{- range .target.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
    {{- with .target.peers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- else if .defaultTo }}
  to:
    {{- .defaultTo | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Public addresses only: what "Spiris" (or a store named by a public host name) may resolve to. */}}
{{- define "spiris.publicPeers" -}}
- ipBlock:
    cidr: 0.0.0.0/0
    except:
      {{- toYaml .Values.networkPolicy.egress.spiris.exceptCidrs | nindent 6 }}
{{- end -}}

{{/* Peers of a store's host[:port] (`.endpoint`): an IPv4 address → that address; `name.namespace.svc…` → that
namespace; another host name → public addresses only; nothing → the private ranges. */}}
{{- define "spiris.endpointPeers" -}}
{{- $host := first (splitList ":" .endpoint) -}}
{{- if regexMatch "^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$" $host -}}
- ipBlock:
    cidr: {{ $host }}/32
{{- else if regexMatch "^[a-z0-9-]+[.][a-z0-9-]+[.]svc([.].*)?$" $host -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ index (splitList "." $host) 1 }}
{{- else if $host -}}
{{ include "spiris.publicPeers" .root }}
{{- else -}}
- ipBlock:
    cidr: 10.0.0.0/8
- ipBlock:
    cidr: 172.16.0.0/12
- ipBlock:
    cidr: 192.168.0.0/16
{{- end -}}
{{- end -}}

{{/* The S3 egress target with its ports derived from s3.endpoint when none are configured. */}}
{{- define "spiris.s3Target" -}}
{{- $target := deepCopy .Values.networkPolicy.egress.s3 -}}
{{- if not $target.ports -}}
{{- $parts := splitList ":" .Values.s3.endpoint -}}
{{- $port := ternary 443 80 .Values.s3.secure -}}
{{- if eq (len $parts) 2 }}{{ $port = atoi (last $parts) }}{{ end -}}
{{- $_ := set $target "ports" (list $port) -}}
{{- end -}}
{{- toJson $target -}}
{{- end -}}

{{/* The read API (spiris-api): read connections and fiscal-year syncs, nothing else in the namespaces it serves. */}}
{{- define "spiris.apiRules" -}}
- apiGroups: ["spiris.senseworks.io"]
  resources: ["spirisconnections"]
  verbs: ["get"]
- apiGroups: ["spiris.senseworks.io"]
  resources: ["fiscalyearsyncs"]
  verbs: ["get", "list"]
{{- end -}}
