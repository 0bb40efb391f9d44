import { createRuntimeHarness, type RuntimeHarness } from '../../test/runtime-harness';

describe('console formatting inside the isolate', () => {
  let rt: RuntimeHarness;
  beforeEach(async () => {
    rt = await createRuntimeHarness();
  });
  afterEach(() => rt.dispose());

  it.each([
    ['"Evens:", [2, 4]', 'Evens: 2,4'],
    ['"a", 1, true, null, undefined, 10n', 'a 1 true null undefined 10'],
    ['{ a: 1, b: [1, { c: "x" }] }', '{"a":1,"b":[1,{"c":"x"}]}'],
    ['new TypeError("bad thing")', 'TypeError: bad thing'],
    ['"err:", new Error("boom")', 'err: Error: boom'],
    ['[1, [2, 3], "x"]', '1,2,3,x'],
    ['Symbol("s")', 'Symbol(s)'],
    ['function named() {}', '[Function: named]'],
    ['new Date(0)', '1970-01-01T00:00:00.000Z'],
    ['(() => { const o = { n: 1 }; o.self = o; return o; })()', '{"n":1,"self":"[Circular]"}'],
    ['{ big: 2n ** 64n }', '{"big":"18446744073709551616"}'],
    ['Object.create(null)', '{}'],
    ['{ toString() { throw new Error("no"); }, toJSON() { throw new Error("no"); } }', '[object Object]'],
    ['[{ toString() { throw 1; } }]', '[object Array]'],
    ['', ''],
  ])('console.log(%s) stores %j', async (args, expected) => {
    await rt.run(`console.log(${args});`);
    expect(rt.logs).toEqual([{ level: 'log', message: expected }]);
  });

  it('captures each level and sdk.log metadata as JSON', async () => {
    await rt.run(`
      console.info('i'); console.warn('w'); console.error('e'); console.debug('d');
      sdk.log.warn('careful', { id: 7 }); logger.info({ not: 'a string' });
    `);
    expect(rt.logs).toEqual([
      { level: 'info', message: 'i' },
      { level: 'warn', message: 'w' },
      { level: 'error', message: 'e' },
      { level: 'debug', message: 'd' },
      { level: 'warn', message: 'careful', meta: '{"id":7}' },
      { level: 'info', message: '{"not":"a string"}' },
    ]);
  });

  it('stops calling the host once it says the log is full', async () => {
    rt.dispose();
    rt = await createRuntimeHarness({ acceptLogs: false });
    await rt.run(`for (let i = 0; i < 1000; i++) console.log('line', i);`);
    expect(rt.logs).toHaveLength(1);
  });

  it('never sends the host more than the budget for one line', async () => {
    rt.dispose();
    rt = await createRuntimeHarness({ maxLogBytes: 100 });
    await rt.run(`console.log('x'.repeat(10_000_000));`);
    expect(rt.logs[0]?.message).toHaveLength(101);
  });
});
