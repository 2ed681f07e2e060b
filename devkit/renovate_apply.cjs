// Renovate's branch update for one copier answers file, through Renovate's own modules: clone the
// repository as the bot does (util/git), then the copier manager's extractPackageFile,
// updateDependency and updateArtifacts (which runs `copier update`). `--platform=local` stops
// before this step ("Cannot sync git when platform=local"), so the test drives it here.
//
// node renovate_apply.cjs ORIGIN WORKDIR NEW_VERSION ALLOW_SCRIPTS(true|false)
// Prints one line "RESULT " + JSON (Renovate logs to stdout too): {files: [{type, path, contents (base64)}], errors: [...], notices: [...]}.
'use strict';

const dist = process.env.RENOVATE_DIST;
const [origin, localDir, newVersion, allowScripts] = process.argv.slice(-4);
const ANSWERS = '.copier-answers.yml';

async function main() {
  const { GlobalConfig } = require(`${dist}/config/global`);
  require('node:fs').mkdirSync(localDir, { recursive: true });
  GlobalConfig.set({ localDir, allowScripts: allowScripts === 'true' });
  const git = require(`${dist}/util/git`);
  await git.initRepo({ url: origin, fullClone: true });
  await git.syncGit();

  const copier = require(`${dist}/modules/manager/copier`);
  const fs = require('node:fs');
  const content = fs.readFileSync(`${localDir}/${ANSWERS}`, 'utf8');
  const extracted = copier.extractPackageFile(content, ANSWERS);
  if (!extracted) throw new Error(`Renovate's copier manager extracted nothing from ${ANSWERS}`);
  const upgrade = { ...extracted.deps[0], newValue: newVersion, newVersion };
  const updated = copier.updateDependency({ fileContent: content, upgrade });
  const results = await copier.updateArtifacts({
    packageFileName: ANSWERS,
    updatedDeps: [upgrade],
    newPackageFileContent: updated,
    // A repository config that sets ignoreScripts false, as the generated renovate.json does.
    config: { ignoreScripts: false, constraints: {} },
  });
  const out = { package_file: updated, files: [], errors: [], notices: [] };
  for (const result of results ?? []) {
    if (result.artifactError) out.errors.push(result.artifactError.stderr);
    if (result.notice) out.notices.push(result.notice);
    if (result.file) {
      const { type, path, contents } = result.file;
      out.files.push({ type, path, contents: contents ? Buffer.from(contents).toString('base64') : null });
    }
  }
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
