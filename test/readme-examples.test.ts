// The README's jest and Playwright examples (```tsx blocks, which jsii-rosetta does not
// translate) are the files in examples/testing, which
// `npm run typecheck` compiles (jsii-rosetta cannot: they use the runtime module, outside
// the jsii assembly). This keeps the two equal, so the README shows code that compiles.
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const runtimeBlocks = [...readme.matchAll(/```tsx\n([\s\S]*?)```/g)].map((m) => m[1]);

test.each(['jest-sign-in.example.ts', 'playwright-global-setup.example.ts'])(
  'the README shows examples/testing/%s as it is, importing the package',
  (file) => {
    const source = fs
      .readFileSync(path.join(root, 'examples', 'testing', file), 'utf8')
      .replace("'../../testing'", "'cdk-cognito-seeder/testing'");
    expect(runtimeBlocks).toContain(source);
  },
);

test('no other README block escapes compilation', () => {
  expect(runtimeBlocks).toHaveLength(2);
});
