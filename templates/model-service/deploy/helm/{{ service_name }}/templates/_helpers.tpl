{{/* Names, labels and the image reference: every object takes them from here. */}}

{{- define "service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "service.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "service.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: model-server
app.kubernetes.io/part-of: ml-services
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "service.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
{{- end -}}

{{/* Checks the schema cannot express. */}}
{{- define "service.validate" -}}
{{- include "service.validateSecrets" . -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if ge (int .Values.preStopSleepSeconds) (int .Values.terminationGracePeriodSeconds) -}}
{{- fail (printf "preStopSleepSeconds (%d) must be shorter than terminationGracePeriodSeconds (%d), or no time is left to drain" (int .Values.preStopSleepSeconds) (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- end -}}

{{/* Labels of the batch scoring pods: not the service's selector, so the Service never routes to them. */}}
{{- define "service.batchLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "service.name" . }}-score
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: batch-scoring
app.kubernetes.io/part-of: ml-services
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Credentials (values `secrets`): the Secret the pods read, and what each container gets from it. */}}
{{- define "service.credentialsSecret" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-credentials" (include "service.fullname" . | trunc 51 | trimSuffix "-") -}}
{{- end -}}
{{- end -}}

{{/* A source for the declared names: exactly one of existingSecret and externalSecret, and names for either. */}}
{{- define "service.validateSecrets" -}}
{{- $s := .Values.secrets -}}
{{- $names := len $s.credentials -}}
{{- if and $s.existingSecret $s.externalSecret.enabled -}}
{{- fail (printf "secrets.existingSecret (%s) and secrets.externalSecret.enabled are both set: the pods read one Secret, choose one source" $s.existingSecret) -}}
{{- end -}}
{{- if and (gt $names 0) (not (or $s.existingSecret $s.externalSecret.enabled)) -}}
{{- fail (printf "secrets.credentials names %d credential(s) but no source: set secrets.existingSecret to a Secret's name or secrets.externalSecret.enabled: true" $names) -}}
{{- end -}}
{{- if and (eq $names 0) (or $s.existingSecret $s.externalSecret.enabled) -}}
{{- fail "secrets.existingSecret or secrets.externalSecret is set but secrets.credentials names no credential: list the names the contract declares (CREDENTIALS)" -}}
{{- end -}}
{{- if $s.externalSecret.enabled -}}
{{- if not $s.externalSecret.secretStoreRef.name -}}
{{- fail "secrets.externalSecret.secretStoreRef.name is required when secrets.externalSecret.enabled: the SecretStore or ClusterSecretStore to read from" -}}
{{- end -}}
{{- range $s.credentials -}}
{{- if not .remoteKey -}}
{{- fail (printf "secrets.credentials %s has no remoteKey: with secrets.externalSecret.enabled each name needs the key it is kept under in the store" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Environment variables of a container that reads the credentials (a list, to nindent). */}}
{{- define "service.credentialsEnv" -}}
{{- $secret := include "service.credentialsSecret" . -}}
{{- if eq .Values.secrets.mountAs "file" }}
- name: CREDENTIALS_DIR
  value: {{ .Values.secrets.mountPath | quote }}
{{- else }}
{{- range .Values.secrets.credentials }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .name }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The read-only mount of the credentials folder (mountAs: file). */}}
{{- define "service.credentialsMount" -}}
- name: credentials
  mountPath: {{ .Values.secrets.mountPath }}
  readOnly: true
{{- end -}}

{{/* The volume of that folder: one file per declared name, readable by the pod's group only. */}}
{{- define "service.credentialsVolume" -}}
- name: credentials
  secret:
    secretName: {{ include "service.credentialsSecret" . }}
    defaultMode: 0440
    items:
      {{- range .Values.secrets.credentials }}
      - key: {{ .name }}
        path: {{ .name }}
      {{- end }}
{{- end -}}
