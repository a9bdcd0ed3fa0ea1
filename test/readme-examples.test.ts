// The jest and Playwright examples of the README and docs/*.md (```tsx blocks, which
// jsii-rosetta does not translate) are the files in examples/testing, which
// `npm run typecheck` compiles (jsii-rosetta cannot: they use the runtime module, outside
// the jsii assembly). This keeps the two equal, so the README shows code that compiles.
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const docs = fs
  .readdirSync(path.join(root, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => path.join('docs', f));
const pages = ['README.md', ...docs].map((file) => fs.readFileSync(path.join(root, file), 'utf8'));
const runtimeBlocks = pages.flatMap((page) => [...page.matchAll(/```tsx\n([\s\S]*?)```/g)].map((m) => m[1]));

test.each(['jest-sign-in.example.ts', 'playwright-global-setup.example.ts'])(
  'the README or docs/ show examples/testing/%s as it is, importing the package',
  (file) => {
    const source = fs
      .readFileSync(path.join(root, 'examples', 'testing', file), 'utf8')
      .replace("'../../testing'", "'cdk-cognito-seeder/testing'");
    expect(runtimeBlocks).toContain(source);
  },
);

test('no other README or docs/ block escapes compilation', () => {
  expect(runtimeBlocks).toHaveLength(2);
});
