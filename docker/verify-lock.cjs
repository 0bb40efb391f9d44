// Fails the image build when `npm install` did anything `npm ci` would not.
//
//   node docker/verify-lock.cjs <package-lock.json before> <package-lock.json after>
//
// Every package the committed lock pins must still be there at the same
// version and integrity. The one allowed change is what `npm install` adds on
// a registry that has them: optional per-platform packages the lock lacks
// because the mirror it was written against does not carry them.
'use strict';
const { readFileSync } = require('node:fs');

function compareLocks(before, after) {
  const problems = [];
  const was = before.packages ?? {};
  const now = after.packages ?? {};
  for (const [key, pkg] of Object.entries(was)) {
    if (key === '') continue;
    const got = now[key];
    if (!got) problems.push(`${key}: removed`);
    else if (got.version !== pkg.version) problems.push(`${key}: ${pkg.version} became ${got.version}`);
    else if (pkg.integrity && got.integrity !== pkg.integrity) problems.push(`${key}: integrity changed`);
  }
  for (const [key, pkg] of Object.entries(now)) {
    if (!(key in was) && !pkg.optional) problems.push(`${key}: added, and not optional`);
  }
  return problems;
}

module.exports = { compareLocks };

if (require.main === module) {
  const [beforePath, afterPath] = process.argv.slice(2);
  const read = (p) => JSON.parse(readFileSync(p, 'utf8'));
  const problems = compareLocks(read(beforePath), read(afterPath));
  if (problems.length) {
    console.error(`verify-lock: npm install did not honour package-lock.json:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log('verify-lock: installed exactly what package-lock.json pins');
}
