import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema } from '../../libs/config/src/env-schema';

// The README is part of the product: these checks keep it in step with the code.
const root = path.resolve(__dirname, '..', '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('documents every configuration variable the apps read', () => {
    const documented = new Set([...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
    const variables = Object.keys(envSchema.shape);
    expect(variables.filter((v) => !documented.has(v))).toEqual([]);
    expect([...documented].filter((v) => !variables.includes(v as string))).toEqual([]);
  });

  it('has a quick start of exactly two commands, and .ci/run calls the test one', () => {
    const quickStart = readme.split('## Quick start')[1]?.split('\n## ')[0] ?? '';
    const block = /```sh\n([\s\S]*?)```/.exec(quickStart)?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(commands).toEqual(['npm run up', 'npm test']);
    const ci = readFileSync(path.join(root, '.ci', 'run'), 'utf8');
    expect(ci.split('\n').filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '))).toEqual(['npm test']);
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !existsSync(path.join(root, link)))).toEqual([]);
  });
});
