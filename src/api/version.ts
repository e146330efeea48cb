/** The newest Engine API version Wharf speaks, and the oldest it accepts. */
export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

export function compareVersions(a: string, b: string): number {
  const [amaj, amin] = a.split('.').map(Number) as [number, number];
  const [bmaj, bmin] = b.split('.').map(Number) as [number, number];
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}
