export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * Endpoint paths are stored without leading or trailing slashes so that
 * `/orders/new`, `orders/new` and `orders/new/` are the same endpoint (SPEC §7).
 */
export function normalizeEndpointPath(path: string): string {
  return path
    .trim()
    .split('/')
    .filter((segment) => segment.length > 0)
    .join('/');
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

export function isValidEndpointPath(path: string): boolean {
  const normalized = normalizeEndpointPath(path);
  return normalized.length > 0 && normalized.length <= 200 && normalized.split('/').every((s) => SEGMENT.test(s));
}
