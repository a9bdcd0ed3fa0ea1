/**
 * Reads a stack from a cloud assembly that `cdk synth` already wrote (cdk.out): its template
 * and the directory its assets were staged in, the same `Synthesized` that `synthesize(app)`
 * gives the harness, so a consumer's own stack rehearses without loading their app or the CDK.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Synthesized } from './harness';

interface Artifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: {
    readonly templateFile?: string;
    readonly stackName?: string;
    readonly directoryName?: string;
  };
}

interface Found {
  readonly id: string;
  readonly stackName: string;
  readonly displayName: string;
  readonly templateFile: string;
  readonly directory: string;
}

/** Every stack of the assembly in `directory`, nested stages' assemblies included. */
function stacksOf(directory: string): Found[] {
  const file = path.join(directory, 'manifest.json');
  if (!fs.existsSync(file)) {
    throw new Error(`rehearsal: ${directory} is not a cloud assembly (no manifest.json): run \`cdk synth\` first`);
  }
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { artifacts?: Record<string, Artifact> };
  return Object.entries(manifest.artifacts ?? {}).flatMap(([id, artifact]): Found[] => {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      return stacksOf(path.join(directory, artifact.properties.directoryName));
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) return [];
    return [
      {
        id,
        stackName: artifact.properties.stackName ?? id,
        displayName: artifact.displayName ?? id,
        templateFile: path.join(directory, artifact.properties.templateFile),
        directory,
      },
    ];
  });
}

/**
 * The stack `stack` of the cloud assembly in `directory` (its stack name, artifact id or
 * construct path, e.g. `Prod/Api` in a stage), as the harness's `deploy` takes it.
 */
export function fromCloudAssembly(directory: string, stack: string): Synthesized & { readonly stackName: string } {
  const root = path.resolve(directory);
  const stacks = stacksOf(root);
  const matches = stacks.filter((s) => s.stackName === stack || s.id === stack || s.displayName === stack);
  if (matches.length !== 1) {
    const names = stacks.map((s) =>
      s.displayName === s.stackName ? s.stackName : `${s.stackName} (${s.displayName})`,
    );
    throw new Error(
      `rehearsal: ${matches.length === 0 ? 'no' : 'more than one'} stack named ${stack} in ${directory} ` +
        `(its stacks: ${names.join(', ') || 'none'})`,
    );
  }
  const [found] = matches;
  // A stage's assets are staged in the outermost assembly, beside the stage's own directory.
  const hasAssets = (dir: string) => fs.readdirSync(dir).some((f) => f.startsWith('asset.'));
  return {
    stackName: found.stackName,
    template: JSON.parse(fs.readFileSync(found.templateFile, 'utf8')),
    assemblyDir: hasAssets(found.directory) ? found.directory : root,
  };
}
