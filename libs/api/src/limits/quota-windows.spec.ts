import { dayWindow, hourWindow, monthWindow, secondsUntilEnd } from './quota-windows';

describe('quota windows (UTC)', () => {
  it('cuts calendar months, days and clock hours in UTC, whatever the local zone', () => {
    const t = new Date('2026-12-31T23:59:59.500Z');
    expect(monthWindow(t)).toMatchObject({ label: '2026-12', start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
    expect(dayWindow(t)).toMatchObject({ label: '2026-12-31', end: new Date('2027-01-01T00:00:00Z') });
    expect(hourWindow(t)).toMatchObject({ label: '2026-12-31T23', start: new Date('2026-12-31T23:00:00Z') });
    expect(secondsUntilEnd(hourWindow(t), t)).toBe(1);
    expect(monthWindow(new Date('2028-02-29T12:00:00Z')).end).toEqual(new Date('2028-03-01T00:00:00Z'));
  });
});
