// One Jest run covers unit (*.spec.ts), integration (*.int-spec.ts) and
// end-to-end (*.e2e-spec.ts) tests; tools/test.mjs prepares the services.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools', '<rootDir>/bench', '<rootDir>/test', '<rootDir>/docker', '<rootDir>/k8s'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { swcrc: true }] },
  // Prisma's generated client imports './x.js' for files that are './x.ts' in source.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/'],
  testTimeout: 60000,
};
