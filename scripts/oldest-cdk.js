#!/usr/bin/env node
// Proves the floor of the peer ranges: packs the library (its prepack builds it), installs
// the tarball in a temporary app with exactly the oldest aws-cdk-lib and constructs that
// package.json's peerDependencies admit, synthesizes there the example stack
// (examples/example-stack.ts, transpiled as it is, importing the package instead of ../lib)
// and a TOTP user (where the library looks up an API older versions lack, which the example
// does not reach), and checks the templates. Synthesizing is not enough on its own: an older aws-cdk-lib
// ignores a construct prop it does not know yet, and its Runtime.NODEJS_LATEST is older, so
// the props the seeder relies on and the function's runtime are checked in the template too.
//
//   node scripts/oldest-cdk.js                    the floors of the peer ranges
//   node scripts/oldest-cdk.js 2.200.0 [10.0.0]   another aws-cdk-lib (and constructs), peers ignored
//
// OLDEST_CDK_TARBALL=<path> uses an already packed tarball instead of packing again.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const ts = require('typescript');
const { peerFloor: floor } = require('./peer-floors');

const root = path.resolve(__dirname, '..');
const { starStatements } = require('./star-statements');
const [cdkArg, constructsArg] = process.argv.slice(2);

// The oldest Node.js major the function may run on: Lambda no longer creates functions on
// nodejs18.x (deprecated in September 2025), which aws-cdk-lib's Runtime.NODEJS_LATEST, the
// function's runtime, names before 2.211.0. Raise it when Lambda deprecates nodejs22.x.
const OLDEST_RUNTIME_MAJOR = 22;

const APP = `const { App, Stack } = require('aws-cdk-lib');
const cognito = require('aws-cdk-lib/aws-cognito');
const { PasswordMode, SeedMfa, SeedPassword, UserSeeder } = require('cdk-cognito-seeder');
const { ExampleStack } = require('./example-stack');

const app = new App();
new ExampleStack(app, 'CognitoSeederExample');
const totp = new Stack(app, 'Totp');
new UserSeeder(totp, 'Seeder', {
  userPool: cognito.UserPool.fromUserPoolId(totp, 'Pool', 'us-east-1_abc'),
  users: [{ username: 'carol', mode: PasswordMode.PERMANENT, password: SeedPassword.generate(), mfa: SeedMfa.TOTP }],
});
app.synth();
`;

function run(command, args, cwd, env = process.env) {
  try {
    return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    process.stderr.write(`${command} ${args.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw new Error(`${command} ${args[0]} failed`);
  }
}

/** The example stack's TypeScript as JavaScript that imports the packed library. */
function transpileExample() {
  const source = fs.readFileSync(path.join(root, 'examples', 'example-stack.ts'), 'utf8');
  const rewritten = source.replace(/from '\.\.\/lib'/g, "from 'cdk-cognito-seeder'");
  if (/from '\.\.\//.test(rewritten)) throw new Error('examples/example-stack.ts imports from outside lib/');
  return ts.transpileModule(rewritten, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: 'ES2022' } })
    .outputText;
}

/** What the templates lack, of what the seeder relies on. */
function check(outdir) {
  const failures = [];
  const expect = (ok, what) => ok || failures.push(what);
  const read = (stack) => JSON.parse(fs.readFileSync(path.join(outdir, `${stack}.template.json`), 'utf8'));
  const example = read('CognitoSeederExample');
  const of = (template, type) => Object.values(template.Resources).filter((r) => r.Type === type);
  const seeds = of(example, 'Custom::CognitoUserSeed');
  const functions = of(example, 'AWS::Lambda::Function');
  expect(seeds.length === 1, 'one Custom::CognitoUserSeed');
  const handlers = functions.map((f) => f.Properties?.Handler).sort();
  expect(
    handlers.join() === 'index.handler,index.onFailure',
    'two AWS::Lambda::Function: the seeding function and its failure answerer',
  );
  const seed = seeds[0]?.Properties ?? {};
  const fn = functions.find((f) => f.Properties?.Handler === 'index.handler')?.Properties ?? {};
  const answerer = functions.find((f) => f.Properties?.Handler === 'index.onFailure')?.Properties ?? {};
  // Without it, a seeding function that crashes on every attempt leaves the stack waiting out the hour.
  const invokeConfig = of(example, 'AWS::Lambda::EventInvokeConfig')[0]?.Properties ?? {};
  expect(
    invokeConfig.DestinationConfig?.OnFailure?.Destination?.['Fn::GetAtt']?.[1] === 'Arn',
    "the seeding function's failure destination is the answerer",
  );
  expect(answerer.LoggingConfig?.LogGroup?.Ref !== undefined, 'the failure answerer logs to its own log group');
  expect(seed.Users?.length === 6, 'the seed resource carries the 6 users');
  // The manifest's pointer, and the example's TOTP user with its enrolment.
  expect(of(example, 'AWS::SSM::Parameter').length === 1, "the seeder's manifest pointer parameter");
  expect(seed.Totp !== undefined && seed.ClientId !== undefined, 'the TOTP settings and the sign-in client');
  // The props an older aws-cdk-lib would drop without a word:
  expect(String(seed.ServiceTimeout) === '3600', 'the seed resource has ServiceTimeout 3600');
  expect(fn.LoggingConfig?.LogGroup?.Ref !== undefined, "the function logs to the seeder's log group");
  const ledger = of(example, 'AWS::DynamoDB::Table')[0]?.Properties;
  expect(ledger?.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled === true, 'the ledger has PITR');
  const major = Number(/^nodejs(\d+)\.x$/.exec(fn.Runtime)?.[1]);
  expect(major >= OLDEST_RUNTIME_MAJOR, `a runtime of nodejs${OLDEST_RUNTIME_MAJOR}.x or later (it is ${fn.Runtime})`);
  expect(starStatements(example).length === 0, 'no statement on Resource "*" but what AWS cannot scope');
  const staged = fs.readdirSync(outdir).filter((f) => f.startsWith('asset.'));
  expect(
    staged.some((dir) => fs.existsSync(path.join(outdir, dir, 'index.js'))),
    'the handler asset is staged',
  );
  // The TOTP secret carries its cdk-nag acknowledgement in the form cdk-nag v2 reads.
  const totp = read('Totp');
  expect(of(totp, 'Custom::CognitoUserSeed')[0]?.Properties.Totp !== undefined, 'the TOTP enrolment');
  const rules = of(totp, 'AWS::SecretsManager::Secret').flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
  expect(
    rules.some((r) => r.id === 'AwsSolutions-SMG4'),
    "the TOTP secret's cdk_nag metadata",
  );
  return { failures, runtime: fn.Runtime };
}

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'oldest-cdk-'));
  try {
    let tarball = process.env.OLDEST_CDK_TARBALL && path.resolve(process.env.OLDEST_CDK_TARBALL);
    if (!tarball) {
      const output = run('npm', ['pack', '--json', '--pack-destination', work], root);
      tarball = path.join(work, JSON.parse(output.slice(output.search(/^\[\s*\{/m)))[0].filename);
    }
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'oldest-cdk-consumer',
        private: true,
        dependencies: {
          'aws-cdk-lib': cdkArg ?? floor('aws-cdk-lib'),
          constructs: constructsArg ?? floor('constructs'),
          'cdk-cognito-seeder': `file:${tarball}`,
        },
      }),
    );
    fs.writeFileSync(path.join(app, 'app.js'), APP);
    fs.writeFileSync(path.join(app, 'example-stack.js'), transpileExample());

    // With the peer floors, npm resolves peers as a user's install would: a range that does
    // not admit these versions (or an aws-cdk-lib needing a newer constructs) fails here.
    const experiment = cdkArg !== undefined;
    const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'];
    run('npm', experiment ? [...install, '--legacy-peer-deps'] : install, app);
    const installed = (name) =>
      JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
    const versions = `aws-cdk-lib ${installed('aws-cdk-lib')}, constructs ${installed('constructs')}`;

    const outdir = path.join(app, 'cdk.out');
    run(process.execPath, ['app.js'], app, { ...process.env, CDK_OUTDIR: outdir });
    const { failures, runtime } = check(outdir);
    if (failures.length > 0) {
      console.error(`example synthesized with ${versions}, but the templates lack: ${failures.join('; ')}`);
      process.exitCode = 1;
      return;
    }
    console.log(
      `example synthesized with ${versions}${experiment ? ' (peers ignored)' : ''}: template checked (${runtime})`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(`oldest-cdk: ${error.message.split('\n')[0]}`);
  process.exitCode = 1;
}
