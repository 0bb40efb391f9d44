/**
 * A refusal meant for the script: its message becomes the rejection the
 * script sees. Anything else a host capability throws is logged and shown
 * to the script as an internal error, so host details never leak in.
 */
export class HostCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostCallError';
  }
}
