import { BreakerOpenError, HostBreakers, HostFailure, type BreakerSettings } from './host-breakers';

const SETTINGS: BreakerSettings = { resetTimeoutMs: 200, volumeThreshold: 3, errorThresholdPercentage: 50, rollingWindowMs: 10_000, idleEvictMs: 60_000 };
const isHostFailure = (e: unknown) => e instanceof HostFailure;
const down = () => Promise.reject(new HostFailure(503));
const up = () => Promise.resolve('ok');

describe('HostBreakers', () => {
  let breakers: HostBreakers;
  beforeEach(() => {
    breakers = new HostBreakers(SETTINGS, isHostFailure);
  });
  afterEach(() => breakers.close());

  async function failTimes(destination: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await expect(breakers.run(destination, down)).rejects.toBeInstanceOf(HostFailure);
  }

  it('keys destinations by origin: scheme, host and port', () => {
    expect(HostBreakers.destinationOf('http://127.0.0.1:8080/a?b=1')).toBe('http://127.0.0.1:8080');
    expect(HostBreakers.destinationOf('https://Example.com/hook')).toBe('https://example.com');
  });

  it('opens after the volume threshold of failures and then fails fast without calling', async () => {
    await failTimes('http://a', 3);
    expect(breakers.state('http://a')).toBe('open');
    const action = jest.fn(up);
    const rejection = await breakers.run('http://a', action).catch((e: unknown) => e);
    expect(rejection).toBeInstanceOf(BreakerOpenError);
    expect((rejection as BreakerOpenError).retryInMs).toBeGreaterThan(0);
    expect((rejection as BreakerOpenError).retryInMs).toBeLessThanOrEqual(SETTINGS.resetTimeoutMs);
    expect(action).not.toHaveBeenCalled();
  });

  it('stays closed below the volume threshold', async () => {
    await failTimes('http://b', 2);
    expect(breakers.state('http://b')).toBe('closed');
    await expect(breakers.run('http://b', up)).resolves.toBe('ok');
  });

  it('isolates destinations: one down host does not stop another', async () => {
    await failTimes('http://down:1', 3);
    await expect(breakers.run('http://down:2', up)).resolves.toBe('ok');
  });

  it('ignores errors that say nothing about the host', async () => {
    for (let i = 0; i < 5; i++) await expect(breakers.run('http://c', () => Promise.reject(new Error('SSRF')))).rejects.toThrow('SSRF');
    expect(breakers.state('http://c')).toBe('closed');
  });

  it('lets one trial through after the reset timeout; success closes it, failure reopens it', async () => {
    await failTimes('http://d', 3);
    await new Promise((r) => setTimeout(r, SETTINGS.resetTimeoutMs + 20));
    expect(breakers.state('http://d')).toBe('halfOpen');
    await expect(breakers.run('http://d', down)).rejects.toBeInstanceOf(HostFailure);
    expect(breakers.state('http://d')).toBe('open');

    await new Promise((r) => setTimeout(r, SETTINGS.resetTimeoutMs + 20));
    let release: (v: string) => void = () => undefined;
    const trial = breakers.run('http://d', () => new Promise<string>((r) => (release = r)));
    // While the trial is in flight, others are turned away with a short wait.
    const turnedAway = await breakers.run('http://d', up).catch((e: unknown) => e);
    expect(turnedAway).toBeInstanceOf(BreakerOpenError);
    expect((turnedAway as BreakerOpenError).retryInMs).toBeLessThanOrEqual(1_000);
    release('ok');
    await expect(trial).resolves.toBe('ok');
    expect(breakers.state('http://d')).toBe('closed');
    await expect(breakers.run('http://d', up)).resolves.toBe('ok');
  });
});
