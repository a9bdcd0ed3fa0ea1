// The ```ts blocks of docs/*.md, compiled as jsii-rosetta compiles the README's: each is
// placed at the `/// here` line of its fixture (rosetta/default.ts-fixture unless the block
// says `fixture=<name>`), with its imports and `declare` statements hoisted to the top, and
// type-checked with the repository's tsconfig, 'cdk-cognito-seeder' mapped to ./lib.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..');
const docsDir = path.join(root, 'docs');

interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly fixture: string;
  readonly source: string;
}

function snippets(): Snippet[] {
  return fs
    .readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .flatMap((f) => {
      const text = fs.readFileSync(path.join(docsDir, f), 'utf8');
      return [...text.matchAll(/^```ts( [^\n]*)?\n([\s\S]*?)^```$/gm)].map((m) => ({
        file: `docs/${f}`,
        line: text.slice(0, m.index).split('\n').length,
        fixture: /fixture=([\w-]+)/.exec(m[1] ?? '')?.[1] ?? 'default',
        source: m[2],
      }));
    });
}

/** What rosetta's fixtures do: imports and `declare` variables go to the top of the file. */
function inFixture(snippet: Snippet): string {
  const fixture = fs.readFileSync(path.join(root, 'rosetta', `${snippet.fixture}.ts-fixture`), 'utf8');
  const parsed = ts.createSourceFile('snippet.ts', snippet.source, ts.ScriptTarget.Latest, true);
  let hoisted = '';
  let body = '';
  for (const statement of parsed.statements) {
    const declared =
      ts.isVariableStatement(statement) &&
      statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) === true;
    if (ts.isImportDeclaration(statement) || ts.isImportEqualsDeclaration(statement) || declared) {
      hoisted += statement.getFullText(parsed) + '\n';
    } else {
      body += statement.getFullText(parsed);
    }
  }
  return hoisted + fixture.replace(/^[ \t]*\/\/\/[ \t]*here[ \t]*$/m, body);
}

const all = snippets();

test('docs/ has TypeScript snippets to compile', () => {
  expect(all.length).toBeGreaterThan(0);
});

test('every ```ts block of docs/*.md compiles against its rosetta fixture', () => {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    // Fixtures import more than one snippet uses, as rosetta's do.
    noUnusedLocals: false,
    noUnusedParameters: false,
    isolatedModules: false,
    types: ['node'],
    baseUrl: root,
    paths: {
      'cdk-cognito-seeder': ['./lib'],
      'cdk-cognito-seeder/testing': ['./testing'],
      'cdk-cognito-seeder/rehearse': ['./rehearsal/rehearse'],
    },
  };
  const files = new Map(all.map((s, i) => [path.join(root, 'test', `.docs-snippet-${i}.ts`), s]));
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (f) => files.has(path.resolve(f)) || ts.sys.fileExists(f);
  host.readFile = (f) => {
    const snippet = files.get(path.resolve(f));
    return snippet ? inFixture(snippet) : readFile(f);
  };
  host.getSourceFile = (f, language, onError, create) => {
    const snippet = files.get(path.resolve(f));
    return snippet ? ts.createSourceFile(f, inFixture(snippet), language) : getSourceFile(f, language, onError, create);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const snippet = files.get(path.resolve(d.file!.fileName))!;
      return `${snippet.file} (block at line ${snippet.line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(errors).toEqual([]);
});
