// Validate generated artifacts with the validators their own projects publish (docs/decisions/0010).
// Usage: node validate.mjs prometheus-operator|argo-rollouts|external-secrets|backstage|grafana < documents.json
// Reads a JSON array of documents; prints a JSON array with, for each, a list of error strings
// (empty when the document is valid).
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as rollouts from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";
import * as externalSecrets from "@kubernetes-models/external-secrets/external-secrets.io/v1";
import {
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
  domainEntityV1alpha1Validator,
  EntityPolicies,
  FieldFormatEntityPolicy,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  NoForeignRootFieldsEntityPolicy,
  resourceEntityV1alpha1Validator,
  SchemaValidEntityPolicy,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
} from "@backstage/catalog-model";

// The CRD models take apiVersion and kind from their class: refuse any other pair.
function crdCheck(models, group) {
  return async (doc) => {
    const Model = models[doc.kind];
    if (!Model || Model.apiVersion !== doc.apiVersion) {
      return [`${doc.apiVersion} ${doc.kind} is not a ${group} kind`];
    }
    try {
      new Model(doc).validate();
      return [];
    } catch (error) {
      return (error.errors ?? [{ instancePath: "", message: error.message }]).map(
        (e) => `${doc.kind} ${e.instancePath || "/"}: ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""}`,
      );
    }
  };
}
const prometheusOperator = crdCheck(monitoring, "monitoring.coreos.com/v1");
const argoRollouts = crdCheck(rollouts, "argoproj.io/v1alpha1");
const externalSecretsCheck = crdCheck(externalSecrets, "external-secrets.io/v1");

// What the catalog applies to every entity it reads (the default policies), then the kind's own
// schema, as Backstage's builtin kinds processor does.
const policies = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);
const kinds = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
];

async function backstage(doc) {
  const name = `${doc?.kind} ${doc?.metadata?.name}`;
  try {
    await policies.enforce(doc);
    for (const kind of kinds) {
      if (await kind.check(doc)) return [];
    }
    return [`${name}: not a kind Backstage's catalog model knows`];
  } catch (error) {
    return [`${name}: ${error.message}`];
  }
}

// Grafana publishes its dashboard model as TypeScript declarations (@grafana/schema): each
// dashboard becomes `const d: Dashboard = <json>;`, and the TypeScript compiler checks it (missing
// required fields, wrong types, and, through excess property checks, fields the model lacks).
const here = path.dirname(fileURLToPath(import.meta.url));
function grafanaAll(docs) {
  // One program for every dashboard: the declarations are type-checked once.
  const sources = new Map(
    docs.map((doc, index) => [
      path.join(here, `__dashboard_${index}.ts`),
      `import type { Dashboard } from "@grafana/schema";\nexport const d: Dashboard = ${JSON.stringify(doc, null, 1)};\n`,
    ]),
  );
  const options = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, ...rest) =>
    sources.has(name) ? ts.createSourceFile(name, sources.get(name), ts.ScriptTarget.ES2022, true) : getSourceFile.call(host, name, ...rest);
  host.fileExists = (name) => sources.has(name) || fileExists.call(host, name);
  host.readFile = (name) => (sources.has(name) ? sources.get(name) : readFile.call(host, name));
  const program = ts.createProgram([...sources.keys()], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return [...sources.keys()].map((file) =>
    diagnostics
      .filter((d) => d.file?.fileName === file || !d.file)
      .map((d) => {
        const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
        const line = where ? d.file.text.split("\n")[where.line].trim() : "";
        return `${ts.flattenDiagnosticMessageText(d.messageText, " ")}${line ? ` at: ${line}` : ""}`;
      }),
  );
}

const checks = { "prometheus-operator": prometheusOperator, "argo-rollouts": argoRollouts, "external-secrets": externalSecretsCheck, backstage, grafana: null };
const check = checks[process.argv[2]];
if (!(process.argv[2] in checks)) {
  console.error(`usage: node validate.mjs ${Object.keys(checks).join("|")} < documents.json`);
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const docs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const results = check ? await Promise.all(docs.map((doc) => check(doc))) : grafanaAll(docs);
console.log(JSON.stringify(results));
